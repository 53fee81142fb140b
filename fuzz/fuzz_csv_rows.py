"""Fuzz target: the authentic source's provider CSV export, imported into a migrated
SQLite registry (``registry/csv_import.py``). A bad header refuses the file with
``EhcertError`` MALFORMED; a bad row is reported with its line, never raised.
"""

from __future__ import annotations

import datetime as dt

from fuzz_context import registry_database, scratch_directory
from fuzzing import main, refused_clearly

from ehcert.registry.csv_import import import_providers_csv

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def one_input(data: bytes) -> None:
    path = scratch_directory() / "providers.csv"
    path.write_bytes(data)
    with refused_clearly():
        report = import_providers_csv(registry_database(), path, NOW)  # type: ignore[arg-type]
        assert all(rejected.line >= 2 and rejected.reason for rejected in report.rejected)


if __name__ == "__main__":
    main("csv_rows")
