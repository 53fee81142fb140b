"""What every ``ehcert admin`` command module shares: the options (``--data-dir``,
``--db``, ``--json``, ``--environment``) and the ways in to a platform folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ehcert.cli.folders import require_platform_folder
from ehcert.cli.output import emit_json, stdout_console
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId
from ehcert.settings import Environment, load_settings

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="EHCERT_DATA_DIR", help="Platform data directory.")
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Db = Annotated[str | None, typer.Option("--db", envvar="EHCERT_DB", help="Database URL.")]
EnvOption = Annotated[
    Environment | None, typer.Option("--environment", help="acceptance or production.")
]


def admin_platform(data_dir: Path, db: str | None, environment: str | None = None) -> Any:
    from ehcert.platform import Platform

    require_platform_folder(data_dir, None)
    settings = load_settings(data_dir=data_dir, db=db, environment=environment)
    return Platform.open(settings, initialise=False)


def admin_database(data_dir: Path, db: str | None) -> Any:
    """The migrated database of the platform in ``data_dir`` (or ``--db``)."""
    from ehcert.store.db import Database

    require_platform_folder(data_dir, db)
    settings = load_settings(data_dir=data_dir, db=db)
    database = Database(settings.database_url)
    database.migrate()
    return database


def admin_registry_service(data_dir: Path, db: str | None) -> Any:
    from ehcert.registry.service import RegistryService

    return RegistryService(admin_database(data_dir, db))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def done(result: dict[str, Any], json_output: bool, message: str) -> None:
    if json_output:
        emit_json(result)
    else:
        stdout_console.print(message)


def parse_institution(text: str) -> InstitutionId:
    try:
        return InstitutionId.parse(text)
    except ValueError as error:
        raise EhcertError(ErrorKind.MALFORMED, f"{error}.", field="institution") from error
