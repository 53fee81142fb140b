"""``ehcert admin``: the operator's console on a platform data directory.

Every command takes ``--data-dir`` (or ``EHCERT_DATA_DIR``) and ``--json``. Refusals
exit 1 with one sentence on stderr; see ``ehcert.operations`` for the policy behind
withdrawals and mandate ends.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.admin_integrators import integrator_admin_app
from ehcert.cli.admin_offices import office_admin_app, officer_admin_app
from ehcert.cli.ceremonies import ca_app, crl_app
from ehcert.cli.folders import require_platform_folder
from ehcert.cli.output import emit_json, exits_on_error, stderr_console, stdout_console
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId
from ehcert.manager.secrets import read_secret
from ehcert.settings import Environment, load_settings

admin_app = typer.Typer(no_args_is_help=True, add_completion=False)


@admin_app.callback()
def admin_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory for every admin command below."),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL for them.")] = None,
) -> None:
    """Operate a platform's data directory.

    ``ehcert admin --data-dir DIR init`` works as ``ehcert admin init --data-dir DIR``:
    the group's options become the defaults of every command under it (Click's
    ``default_map``), and a command's own option still wins.
    """
    given = {name: value for name, value in (("data_dir", data_dir), ("db", db)) if value}
    if given:
        ctx.default_map = _defaults_below(ctx.command, {k: str(v) for k, v in given.items()})


def _defaults_below(command: object, values: dict[str, str]) -> dict[str, Any]:
    """``values`` for every command under ``command`` that takes them, as a default_map."""
    commands: dict[str, object] | None = getattr(command, "commands", None)
    if commands is None:
        names = {getattr(parameter, "name", None) for parameter in getattr(command, "params", ())}
        return {name: value for name, value in values.items() if name in names}
    return {name: _defaults_below(sub, values) for name, sub in commands.items()}


provider_app = typer.Typer(no_args_is_help=True, help="Care providers in the registry.")
institution_app = typer.Typer(no_args_is_help=True, help="Institutions in the registry.")
mandate_app = typer.Typer(no_args_is_help=True, help="Mandates of certificate holders.")
eid_app = typer.Typer(no_args_is_help=True, help="Test eID credentials (acceptance).")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
admin_app.add_typer(provider_app, name="provider")
admin_app.add_typer(institution_app, name="institution")
admin_app.add_typer(mandate_app, name="mandate")
admin_app.add_typer(eid_app, name="eid")
admin_app.add_typer(audit_app, name="audit")
admin_app.add_typer(crl_app, name="crl")
admin_app.add_typer(ca_app, name="ca")
admin_app.add_typer(office_admin_app, name="office")
admin_app.add_typer(officer_admin_app, name="officer")
admin_app.add_typer(integrator_admin_app, name="integrator")

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="EHCERT_DATA_DIR", help="Platform data directory.")
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Db = Annotated[str | None, typer.Option("--db", envvar="EHCERT_DB", help="Database URL.")]
EnvOption = Annotated[
    Environment | None, typer.Option("--environment", help="acceptance or production.")
]


def _platform(data_dir: Path, db: str | None, environment: str | None = None) -> Any:
    from ehcert.platform import Platform

    require_platform_folder(data_dir, None)
    settings = load_settings(data_dir=data_dir, db=db, environment=environment)
    return Platform.open(settings, initialise=False)


def _database(data_dir: Path, db: str | None) -> Any:
    """The migrated database of the platform in ``data_dir`` (or ``--db``)."""
    from ehcert.store.db import Database

    require_platform_folder(data_dir, db)
    settings = load_settings(data_dir=data_dir, db=db)
    database = Database(settings.database_url)
    database.migrate()
    return database


def _registry(data_dir: Path, db: str | None) -> Any:
    from ehcert.registry.service import RegistryService

    return RegistryService(_database(data_dir, db))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _done(result: dict[str, Any], json_output: bool, message: str) -> None:
    if json_output:
        emit_json(result)
    else:
        stdout_console.print(message)


def _institution(text: str) -> InstitutionId:
    try:
        return InstitutionId.parse(text)
    except ValueError as error:
        raise EhcertError(ErrorKind.MALFORMED, f"{error}.", field="institution") from error


@admin_app.command("init")
@exits_on_error
def init(
    data_dir: DataDir = Path("data"),
    db: Db = None,
    environment: EnvOption = None,
    json_output: Json = False,
    key_type: Annotated[
        str | None,
        typer.Option(
            "--key-type",
            help=(
                "Key of the root, issuing and test eID CAs: rsa-2048, rsa-3072, rsa-4096, "
                "ec-p256 or ec-p384 (an EC issuing CA gets an EC OCSP responder too). "
                "Default: RSA 4096 root, RSA 3072 issuing CA."
            ),
        ),
    ] = None,
) -> None:
    """Create the CA hierarchy and the database of an environment."""
    from ehcert.ca.hierarchy import is_initialised
    from ehcert.core.keys import PLATFORM_KEY_TYPES
    from ehcert.core.keys import key_type as parse_key_type
    from ehcert.platform import Platform

    chosen = None if key_type is None else parse_key_type(key_type, allowed=PLATFORM_KEY_TYPES)
    settings = load_settings(data_dir=data_dir, db=db, environment=environment)
    if is_initialised(settings.data_dir, settings.environment):
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"{settings.data_dir} already holds a {settings.environment} CA hierarchy.",
        )
    with stderr_console.status("Creating the CA hierarchy") as status:
        platform = Platform.open(settings, progress=status.update, key_type=chosen)
    hierarchy = platform.hierarchy
    _done(
        {
            "environment": settings.environment,
            "root": hierarchy.root.certificate.subject.rfc4514_string(),
            "issuing": hierarchy.issuing.certificate.subject.rfc4514_string(),
            "key_type": chosen.name if chosen else "rsa-3072",
            "data_dir": str(settings.data_dir),
        },
        json_output,
        f"Initialised the {settings.environment} CA hierarchy in {settings.data_dir}.",
    )


# -- providers ------------------------------------------------------------------------


@provider_app.command("add")
@exits_on_error
def provider_add(
    ssin: Annotated[str, typer.Option(help="National register or BIS number (11 digits).")],
    profession: Annotated[str, typer.Option(help="doctor, nurse, pharmacist, ...")],
    first_name: Annotated[str, typer.Option()],
    last_name: Annotated[str, typer.Option()],
    nihii: Annotated[str | None, typer.Option(help="NIHII number (11 digits).")] = None,
    status: Annotated[str, typer.Option(help="validated or pending.")] = "validated",
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Add a care provider to the registry."""
    registry = _registry(data_dir, db)
    registry.add_provider(
        ssin=ssin,
        nihii=nihii,
        profession=profession,
        first_name=first_name,
        last_name=last_name,
        status=status,
        now=_now(),
    )
    _done({"ssin": ssin, "status": status}, json_output, f"Added provider SSIN {ssin}.")


@provider_app.command("update")
@exits_on_error
def provider_update(
    ssin: Annotated[str, typer.Option()],
    profession: Annotated[str | None, typer.Option()] = None,
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    nihii: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="validated or pending.")] = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Change a provider's fields (only those given)."""
    registry = _registry(data_dir, db)
    changes = {
        key: value
        for key, value in {
            "profession": profession,
            "first_name": first_name,
            "last_name": last_name,
            "nihii": nihii,
            "status": status,
        }.items()
        if value is not None
    }
    registry.update_provider(ssin, now=_now(), **changes)
    _done({"ssin": ssin, **changes}, json_output, f"Updated provider SSIN {ssin}.")


@provider_app.command("withdraw")
@exits_on_error
def provider_withdraw(
    ssin: Annotated[str, typer.Option()],
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Withdraw a provider: no new issuance or renewal, live certificates revoked."""
    from ehcert.operations import withdraw_provider

    platform = _platform(data_dir, db)
    revoked = withdraw_provider(platform, ssin, "admin")
    serials = [facts.serial_hex for facts in revoked]
    _done(
        {"ssin": ssin, "revoked": serials},
        json_output,
        f"Withdrew SSIN {ssin}; revoked {len(serials)} live certificate(s).",
    )


@provider_app.command("import")
@exits_on_error
def provider_import(
    csv_file: Annotated[
        Path, typer.Argument(help="CSV: ssin,nihii,profession,first_name,last_name[,status]")
    ],
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Import providers from CSV: good rows land, bad rows are reported by line."""
    from rich.progress import BarColumn, Progress, TransferSpeedColumn

    from ehcert.registry.csv_import import import_providers_csv

    if not csv_file.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"{csv_file} is not a readable file.", field="csv_file"
        )
    database = _database(data_dir, db)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TransferSpeedColumn(),
        console=stderr_console,
        transient=True,
    ) as progress:
        task = progress.add_task("Importing", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = import_providers_csv(database, csv_file, _now(), progress=advance)
    rejected = [{"line": row.line, "reason": row.reason} for row in report.rejected]
    if json_output:
        emit_json({"imported": report.imported, "updated": report.updated, "rejected": rejected})
        return
    stdout_console.print(
        f"Imported {report.imported}, updated {report.updated}, rejected {len(rejected)}."
    )
    for row in rejected[:50]:
        stderr_console.print(f"line {row['line']}: {row['reason']}")
    if len(rejected) > 50:
        stderr_console.print(f"... and {len(rejected) - 50} more (use --json for all).")


# -- institutions and mandates --------------------------------------------------------


@institution_app.command("add")
@exits_on_error
def institution_add(
    type_: Annotated[str, typer.Option("--type", help="NIHII-HOSPITAL, CBE, EHP, ...")],
    id_: Annotated[str, typer.Option("--id", help="The identifier's digits.")],
    name: Annotated[str, typer.Option()],
    security_norms_date: Annotated[
        str | None, typer.Option(help="Date the minimum security norms were attested.")
    ] = None,
    data_sharing_authorisation: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Add an institution to the registry."""
    institution = _institution(f"{type_}={id_}")
    registry = _registry(data_dir, db)
    registry.add_institution(
        institution, name, _date(security_norms_date), data_sharing_authorisation, now=_now()
    )
    _done({"institution": str(institution)}, json_output, f"Added {institution}.")


@institution_app.command("update")
@exits_on_error
def institution_update(
    type_: Annotated[str, typer.Option("--type")],
    id_: Annotated[str, typer.Option("--id")],
    name: Annotated[str | None, typer.Option()] = None,
    security_norms_date: Annotated[str | None, typer.Option()] = None,
    data_sharing_authorisation: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Change an institution's name or attestations (only those given)."""
    institution = _institution(f"{type_}={id_}")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if security_norms_date is not None:
        changes["security_norms_date"] = _date(security_norms_date)
    if data_sharing_authorisation is not None:
        changes["data_sharing_authorisation"] = data_sharing_authorisation
    _registry(data_dir, db).update_institution(institution, now=_now(), **changes)
    _done({"institution": str(institution)}, json_output, f"Updated {institution}.")


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise EhcertError(
            ErrorKind.MALFORMED, f"{text!r} is not a date written YYYY-MM-DD.", field="date"
        ) from error


@mandate_app.command("add")
@exits_on_error
def mandate_add(
    institution: Annotated[str, typer.Option(help="TYPE=ID")],
    holder: Annotated[str, typer.Option(help="SSIN of the certificate holder.")],
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default open.")] = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Mandate a person as authorised certificate holder of an institution."""
    parsed = _institution(institution)
    now = _now()
    start = _moment(valid_from) or now
    registry = _registry(data_dir, db)
    registry.add_mandate(parsed, holder, start, _moment(valid_until), now=now)
    _done(
        {"institution": str(parsed), "holder": holder},
        json_output,
        f"SSIN {holder} is now certificate holder for {parsed}.",
    )


def _moment(text: str | None) -> dt.datetime | None:
    day = _date(text)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


@mandate_app.command("end")
@exits_on_error
def mandate_end(
    institution: Annotated[str, typer.Option(help="TYPE=ID")],
    holder: Annotated[str, typer.Option(help="SSIN of the certificate holder.")],
    revoke_certificates: Annotated[
        bool, typer.Option(help="Also revoke the institution's live certificates.")
    ] = False,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """End a mandate at once; optionally revoke the institution's live certificates."""
    from ehcert.operations import end_mandate

    parsed = _institution(institution)
    platform = _platform(data_dir, db)
    revoked, live = end_mandate(
        platform, parsed, holder, "admin", revoke_certificates=revoke_certificates
    )
    message = f"Ended the mandate of SSIN {holder} for {parsed}."
    if revoked:
        message += f" Revoked {len(revoked)} certificate(s)."
    if live:
        message += (
            f" {len(live)} certificate(s) of {parsed} remain valid; run again with "
            "--revoke-certificates to revoke them."
        )
    _done(
        {
            "institution": str(parsed),
            "holder": holder,
            "revoked": [f.serial_hex for f in revoked],
            "still_valid": [f.serial_hex for f in live],
        },
        json_output,
        message,
    )


# -- certificates, eIDs, audit, CRL ---------------------------------------------------


@admin_app.command("revoke")
@exits_on_error
def admin_revoke_command(
    serial: Annotated[str, typer.Option(help="Serial number (hex).")],
    reason: Annotated[str, typer.Option(help="RFC 5280 reason.")] = "unspecified",
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Revoke a certificate as administrator."""
    from ehcert.operations import admin_revoke

    facts = admin_revoke(_platform(data_dir, db), serial, reason, "admin")
    _done(
        {"serial": facts.serial_hex, "status": facts.status, "reason": facts.revocation_reason},
        json_output,
        f"Revoked certificate {facts.serial_hex} ({reason}).",
    )


@eid_app.command("issue")
@exits_on_error
def eid_issue(
    ssin: Annotated[str, typer.Option()],
    out: Annotated[Path | None, typer.Option(help="Write a PKCS#12 file here.")] = None,
    pin_file: Annotated[Path | None, typer.Option(help="File holding the PIN.")] = None,
    pkcs11_module: Annotated[
        str | None, typer.Option(help="Put the key on this PKCS#11 token instead.")
    ] = None,
    token_label: Annotated[str | None, typer.Option()] = None,
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
    key_type: Annotated[
        str,
        typer.Option(
            "--key-type",
            help="rsa-2048 (older cards) or ec-p384 (every card since applet 1.8); "
            "rsa-3072 and ec-p256 too.",
        ),
    ] = "rsa-2048",
) -> None:
    """Issue a test eID credential (acceptance environment only)."""
    from ehcert.operations import issue_test_eid

    if out is None and pkcs11_module is None:
        raise EhcertError(
            ErrorKind.MALFORMED, "Give --out FILE.p12 or --pkcs11-module MODULE.", field="out"
        )
    pin = read_secret(pin_file, "eID PIN", confirm=True)
    issued = issue_test_eid(
        _platform(data_dir, db),
        ssin,
        pin,
        first_name=first_name,
        last_name=last_name,
        out=out,
        pkcs11_module=pkcs11_module,
        token_label=token_label,
        key_type=key_type,
    )
    _done(
        {
            "ssin": ssin,
            "serial": issued.serial_hex,
            "not_after": issued.not_after,
            "path": issued.path,
            "token_label": issued.token_label,
            "key_type": key_type,
        },
        json_output,
        f"Issued a test eID for SSIN {ssin} (serial {issued.serial_hex}).",
    )


@eid_app.command("revoke")
@exits_on_error
def eid_revoke(
    serial: Annotated[str, typer.Option(help="Serial number (hex) of the eID certificate.")],
    reason: Annotated[str, typer.Option()] = "keyCompromise",
    data_dir: DataDir = Path("data"),
    db: Db = None,
    json_output: Json = False,
) -> None:
    """Revoke a test eID certificate."""
    from ehcert.operations import revoke_test_eid

    revoke_test_eid(_platform(data_dir, db), serial, reason)
    _done({"serial": serial, "reason": reason}, json_output, f"Revoked test eID {serial}.")


@audit_app.command("verify")
@exits_on_error
def audit_verify(
    data_dir: DataDir = Path("data"), db: Db = None, json_output: Json = False
) -> None:
    """Check the audit log's hash chain; exit 1 if any record was edited or deleted."""
    from ehcert.store.audit import verify_audit_chain
    from ehcert.store.db import Database

    require_platform_folder(data_dir, db)
    settings = load_settings(data_dir=data_dir, db=db)
    database = Database(settings.database_url)
    with database.session() as session:
        result = verify_audit_chain(session)
    if not result.ok:
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"The audit log is broken at record {result.first_bad_seq}: {result.reason}",
        )
    _done(
        {"ok": True, "records": result.records},
        json_output,
        f"The audit log is intact ({result.records} records).",
    )
