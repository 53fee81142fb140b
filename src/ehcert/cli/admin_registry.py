"""``ehcert admin provider|institution|mandate``: the registry, the authentic source the
RA checks before it certifies anyone (DESIGN.md; ``ehcert.operations`` holds the policy of
withdrawals and mandate ends)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.admin_options import (
    DataDir,
    Db,
    Json,
    admin_database,
    admin_platform,
    admin_registry_service,
    done,
    now,
    parse_institution,
)
from ehcert.cli.output import emit_json, exits_on_error, stderr_console, stdout_console
from ehcert.core.errors import EhcertError, ErrorKind

provider_app = typer.Typer(no_args_is_help=True, help="Care providers in the registry.")
institution_app = typer.Typer(no_args_is_help=True, help="Institutions in the registry.")
mandate_app = typer.Typer(no_args_is_help=True, help="Mandates of certificate holders.")


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
    registry = admin_registry_service(data_dir, db)
    registry.add_provider(
        ssin=ssin,
        nihii=nihii,
        profession=profession,
        first_name=first_name,
        last_name=last_name,
        status=status,
        now=now(),
    )
    done({"ssin": ssin, "status": status}, json_output, f"Added provider SSIN {ssin}.")


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
    registry = admin_registry_service(data_dir, db)
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
    registry.update_provider(ssin, now=now(), **changes)
    done({"ssin": ssin, **changes}, json_output, f"Updated provider SSIN {ssin}.")


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

    platform = admin_platform(data_dir, db)
    revoked = withdraw_provider(platform, ssin, "admin")
    serials = [facts.serial_hex for facts in revoked]
    done(
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
    database = admin_database(data_dir, db)
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

        report = import_providers_csv(database, csv_file, now(), progress=advance)
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
    institution = parse_institution(f"{type_}={id_}")
    registry = admin_registry_service(data_dir, db)
    registry.add_institution(
        institution, name, _date(security_norms_date), data_sharing_authorisation, now=now()
    )
    done({"institution": str(institution)}, json_output, f"Added {institution}.")


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
    institution = parse_institution(f"{type_}={id_}")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if security_norms_date is not None:
        changes["security_norms_date"] = _date(security_norms_date)
    if data_sharing_authorisation is not None:
        changes["data_sharing_authorisation"] = data_sharing_authorisation
    admin_registry_service(data_dir, db).update_institution(institution, now=now(), **changes)
    done({"institution": str(institution)}, json_output, f"Updated {institution}.")


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
    parsed = parse_institution(institution)
    moment = now()
    start = _moment(valid_from) or moment
    registry = admin_registry_service(data_dir, db)
    registry.add_mandate(parsed, holder, start, _moment(valid_until), now=moment)
    done(
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

    parsed = parse_institution(institution)
    platform = admin_platform(data_dir, db)
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
    done(
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
