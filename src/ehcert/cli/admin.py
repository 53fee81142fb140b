"""``ehcert admin``: the operator's console on a platform data directory.

Every command takes ``--data-dir`` (or ``EHCERT_DATA_DIR``) and ``--json``. Refusals
exit 1 with one sentence on stderr; see ``ehcert.operations`` for the policy behind
withdrawals and mandate ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.admin_integrators import integrator_admin_app
from ehcert.cli.admin_offices import office_admin_app, officer_admin_app
from ehcert.cli.admin_options import (
    DataDir,
    Db,
    EnvOption,
    Json,
    admin_platform,
    done,
)
from ehcert.cli.admin_registry import institution_app, mandate_app, provider_app
from ehcert.cli.ceremonies import ca_app, crl_app
from ehcert.cli.folders import require_platform_folder
from ehcert.cli.output import exits_on_error, stderr_console
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.secrets import read_secret
from ehcert.settings import load_settings

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
    done(
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

    facts = admin_revoke(admin_platform(data_dir, db), serial, reason, "admin")
    done(
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
        admin_platform(data_dir, db),
        ssin,
        pin,
        first_name=first_name,
        last_name=last_name,
        out=out,
        pkcs11_module=pkcs11_module,
        token_label=token_label,
        key_type=key_type,
    )
    done(
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

    revoke_test_eid(admin_platform(data_dir, db), serial, reason)
    done({"serial": serial, "reason": reason}, json_output, f"Revoked test eID {serial}.")


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
    done(
        {"ok": True, "records": result.records},
        json_output,
        f"The audit log is intact ({result.records} records).",
    )
