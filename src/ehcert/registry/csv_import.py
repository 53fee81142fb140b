"""Bulk import of care providers from the authentic source's CSV export.

Format: UTF-8 (a byte order mark is tolerated), header
``ssin,nihii,profession,first_name,last_name`` with an optional sixth column ``status``
(``validated`` when absent or empty), one provider per row. Exports hold hundreds of
thousands of rows, so:

- the file is streamed line by line, never loaded whole; memory grows only with the
  keys seen so far (an int per SSIN and NIHII number with the line it was first seen on,
  about 150 bytes a row, to find duplicates) and the list of rejected rows;
- good rows are written in batches with ``INSERT ... ON CONFLICT (ssin) DO UPDATE`` on
  both PostgreSQL and SQLite; rows identical to what is stored are not written at all;
- **nothing is half-written**: the whole import is one transaction, so an error or a
  crash mid-file, including an exception raised by the ``progress`` callback, leaves the
  registry exactly as it was. On SQLite that transaction holds the database's single
  write lock from the start (readers go on, in WAL mode; other writers wait up to the busy
  timeout), so large imports belong to quiet hours there, or to PostgreSQL;
- a bad row does not stop the good ones: it is reported with its line number and one
  sentence (the same sentences the registry service uses).

Duplicates: a row repeating an SSIN or a NIHII number of an *accepted* earlier row is
rejected, naming the line of the first. A NIHII number that already belongs to another
provider in the registry is rejected too (the NIHII number is unique).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.registry.validation import (
    MAX_PERSON_NAME,
    parse_nihii,
    parse_profession,
    parse_real_ssin,
    parse_status,
    parse_text,
)
from ehcert.store.audit import AuditLog
from ehcert.store.columns import require_aware
from ehcert.store.db import Database, lock_for_write
from ehcert.store.providers import ProviderData, ProviderRecord, ProviderRepository, ProviderStatus

REQUIRED_COLUMNS = ("ssin", "nihii", "profession", "first_name", "last_name")
OPTIONAL_COLUMN = "status"
DEFAULT_BATCH_SIZE = 2000

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: new providers, changed ones, rows refused (and unchanged ones)."""

    imported: int
    updated: int
    rejected: list[RejectedRow]
    unchanged: int = 0

    @property
    def accepted(self) -> int:
        return self.imported + self.updated + self.unchanged


@dataclass(slots=True)
class _Batcher:
    """Validates rows one by one and writes the accepted ones batch by batch."""

    repository: ProviderRepository
    now: dt.datetime
    has_status: bool
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    pending: list[tuple[int, ProviderData]] = field(default_factory=list)
    first_line_of_ssin: dict[int, int] = field(default_factory=dict)
    first_line_of_nihii: dict[int, int] = field(default_factory=dict)

    def add(self, line: int, row: list[str]) -> None:
        expected = len(REQUIRED_COLUMNS) + (1 if self.has_status else 0)
        if len(row) != expected:
            self.rejected.append(
                RejectedRow(line, f"Expected {expected} columns, found {len(row)}.")
            )
            return
        try:
            data = _provider_from(row, self.has_status)
        except EhcertError as error:
            self.rejected.append(RejectedRow(line, error.detail))
            return
        ssin_key = int(data.ssin)
        first = self.first_line_of_ssin.get(ssin_key)
        if first is not None:
            self.rejected.append(
                RejectedRow(line, f"SSIN {data.ssin} already appears on line {first}.")
            )
            return
        if data.nihii is not None:
            nihii_key = int(data.nihii)
            first = self.first_line_of_nihii.get(nihii_key)
            if first is not None:
                self.rejected.append(
                    RejectedRow(line, f"NIHII number {data.nihii} already appears on line {first}.")
                )
                return
            self.first_line_of_nihii[nihii_key] = line
        self.first_line_of_ssin[ssin_key] = line
        self.pending.append((line, data))

    def flush(self) -> None:
        """Write the pending rows: compare with what is stored, upsert what differs."""
        if not self.pending:
            return
        ssins = {data.ssin for _, data in self.pending}
        nihiis = {data.nihii for _, data in self.pending if data.nihii is not None}
        stored = {record.ssin: record for record in self.repository.existing(ssins, nihiis)}
        owner_of_nihii = {record.nihii: record.ssin for record in stored.values() if record.nihii}
        to_write: list[ProviderData] = []
        for line, data in self.pending:
            owner = owner_of_nihii.get(data.nihii) if data.nihii else None
            if owner is not None and owner != data.ssin:
                self.rejected.append(
                    RejectedRow(
                        line,
                        f"NIHII number {data.nihii} already belongs to the provider"
                        f" with SSIN {owner}.",
                    )
                )
                continue
            current = stored.get(data.ssin)
            if current is None:
                self.imported += 1
                to_write.append(data)
            elif _same(current, data):
                self.unchanged += 1
            else:
                self.updated += 1
                to_write.append(data)
        self.repository.upsert_many(to_write, self.now)
        self.pending.clear()

    def report(self) -> ImportReport:
        ordered = sorted(self.rejected, key=lambda rejected: rejected.line)
        return ImportReport(self.imported, self.updated, ordered, self.unchanged)


def _provider_from(row: list[str], has_status: bool) -> ProviderData:
    status_text = row[5].strip() if has_status else ""
    return ProviderData(
        ssin=parse_real_ssin(row[0]),
        nihii=parse_nihii(row[1]),
        profession=parse_profession(row[2]),
        first_name=parse_text(row[3], "first_name", "first name", MAX_PERSON_NAME),
        last_name=parse_text(row[4], "last_name", "last name", MAX_PERSON_NAME),
        status=parse_status(status_text) if status_text else ProviderStatus.VALIDATED,
    )


def _same(current: ProviderRecord, data: ProviderData) -> bool:
    return (
        current.nihii == data.nihii
        and current.profession is data.profession
        and current.first_name == data.first_name
        and current.last_name == data.last_name
        and current.status is data.status
    )


def _decoded_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """Decode line by line; undecodable bytes become U+FFFD, which row checks refuse."""
    first = True
    for raw in binary:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
        if first:
            text = text.removeprefix("\ufeff")
            first = False
        yield text


def _parse_line(text: str) -> list[str]:
    """One physical line is one record: provider data never contains line breaks, and
    parsing line by line keeps an unbalanced quote from swallowing the lines after it."""
    return next(csv.reader((text,), strict=True), [])


def _check_header(text: str | None) -> bool:
    """Check the header; return whether the optional ``status`` column is present."""
    expected = ",".join(REQUIRED_COLUMNS) + f"[,{OPTIONAL_COLUMN}]"
    if text is None or not text.strip():
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The first line must be the header {expected}.",
            field="header",
        )
    try:
        header = _parse_line(text)
    except csv.Error as error:
        raise EhcertError(
            ErrorKind.MALFORMED, f"The header line is not valid CSV: {error}.", field="header"
        ) from error
    columns = tuple(column.strip().lower() for column in header)
    if columns == REQUIRED_COLUMNS:
        return False
    if columns == (*REQUIRED_COLUMNS, OPTIONAL_COLUMN):
        return True
    raise EhcertError(
        ErrorKind.MALFORMED,
        f"The header must be {expected}, not {text.strip()!r}.",
        field="header",
    )


def _import_rows(
    binary: BinaryIO,
    session: Session,
    *,
    now: dt.datetime,
    total: int,
    progress: Progress | None,
    batch_size: int,
) -> ImportReport:
    lines = _decoded_lines(binary)
    has_status = _check_header(next(lines, None))
    batcher = _Batcher(ProviderRepository(session), now, has_status)
    for number, text in enumerate(lines, start=2):
        if not text.strip():
            continue  # blank line
        try:
            row = _parse_line(text)
        except csv.Error as error:
            batcher.rejected.append(RejectedRow(number, f"The line is not valid CSV: {error}."))
            continue
        batcher.add(number, row)
        if len(batcher.pending) >= batch_size:
            batcher.flush()
            if progress is not None:
                progress(binary.tell(), total)
    batcher.flush()
    if progress is not None:
        progress(binary.tell(), total)
    return batcher.report()


def import_providers_csv(
    database: Database,
    path: Path,
    now: dt.datetime,
    *,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: str = "registry-import",
) -> ImportReport:
    """Import (insert or update) the providers of a CSV file in one transaction.

    ``progress(bytes_read, file_size)`` is called after every batch and once at the end;
    if it raises, the import stops and nothing is written. A file whose header is wrong is
    refused whole with ``EhcertError(MALFORMED, field="header")``.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    moment = require_aware(now, "now")
    source = Path(path)
    total = source.stat().st_size
    with source.open("rb") as binary, database.session() as session:
        lock_for_write(session)
        report = _import_rows(
            binary, session, now=moment, total=total, progress=progress, batch_size=batch_size
        )
        AuditLog(session).append(
            moment,
            "registry",
            actor,
            f"import:{source.name}"[:200],
            {
                "op": "import-providers",
                "imported": report.imported,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
            },
        )
    return report
