"""CSV import: good rows land, bad rows are reported by line, and nothing is half-written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.registry.csv_import import ImportReport, RejectedRow, import_providers_csv
from ehcert.registry.service import RegistryService
from ehcert.store.audit import AuditLog, verify_audit_chain
from ehcert.store.db import Database
from ehcert.store.models import ProviderRow
from ehcert.store.providers import ProviderStatus
from ehcert.store.testing import example_ssin

T0 = dt.datetime(2031, 4, 1, 6, 0, tzinfo=dt.UTC)
HEADER = "ssin,nihii,profession,first_name,last_name"


def write_csv(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def provider_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(ProviderRow)) or 0)


def test_good_rows_land_and_bad_rows_are_reported_by_line(
    database: Database, tmp_path: Path
) -> None:
    s = [example_ssin(index) for index in range(10)]
    path = write_csv(
        tmp_path / "providers.csv",
        [
            HEADER,  # line 1
            f"{s[0]},10000000101,doctor,Anna,Peeters",  # 2 ok
            f"{s[1]},,nurse,Bart,Claes",  # 3 ok, no NIHII
            f"{s[2][:-1]}0,,nurse,Chris,Dubois",  # 4 bad SSIN check
            f"{s[3]},12AB,doctor,Dirk,Evers",  # 5 bad NIHII
            f"{s[4]},,astronaut,Els,Fontaine",  # 6 unknown profession
            f"{s[5]},,dentist,,Goossens",  # 7 empty first name
            f"{s[0]},,nurse,Anna,Again",  # 8 duplicate SSIN of line 2
            f"{s[6]},10000000101,pharmacist,Hugo,Jacobs",  # 9 duplicate NIHII of line 2
            f"{s[7]},,midwife,Ilse",  # 10 too few columns
            "",  # 11 blank: skipped silently
            f'{s[8]},,"physiotherapist,Jan,Kok',  # 12 unbalanced quote
            f'{s[9]},,Speech-Therapist,"Lien, Marie",Maes',  # 13 ok, quoted comma, case
        ],
    )
    report = import_providers_csv(database, path, T0)
    assert (report.imported, report.updated, report.unchanged) == (3, 0, 0)
    reasons = {rejected.line: rejected.reason for rejected in report.rejected}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10, 12]
    assert "mod-97" in reasons[4]
    assert "NIHII" in reasons[5]
    assert "astronaut" in reasons[6]
    assert "first name" in reasons[7]
    assert reasons[8] == f"SSIN {s[0]} already appears on line 2."
    assert reasons[9] == "NIHII number 10000000101 already appears on line 2."
    assert reasons[10] == "Expected 5 columns, found 4."
    assert "not valid CSV" in reasons[12]
    registry = RegistryService(database)
    assert registry.get_provider(s[9]).first_name == "Lien, Marie"
    assert registry.get_provider(s[0]).last_name == "Peeters"  # the first row won
    assert provider_count(database) == 3
    with database.session() as session:
        assert verify_audit_chain(session).ok
        (record,) = AuditLog(session).records()
    assert json.loads(record.detail) == {
        "op": "import-providers",
        "imported": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 8,
    }


def test_reimport_updates_changed_rows_and_skips_identical_ones(
    database: Database, tmp_path: Path
) -> None:
    s = [example_ssin(index) for index in range(3)]
    first = write_csv(
        tmp_path / "first.csv",
        [
            f"{HEADER},status",
            f"{s[0]},,doctor,A,B,",
            f"{s[1]},,nurse,C,D,pending",
            f"{s[2]},,nurse,E,F,withdrawn",
        ],
    )
    assert import_providers_csv(database, first, T0) == ImportReport(3, 0, [], 0)
    second = write_csv(
        tmp_path / "second.csv",
        [
            f"{HEADER},status",
            f"{s[0]},,doctor,A,B,validated",
            f"{s[1]},,nurse,C,D,validated",
            f"{s[2]},,nurse,E,F2,withdrawn",
        ],
    )
    later = T0 + dt.timedelta(days=7)
    report = import_providers_csv(database, second, later)
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (0, 2, 1, [])
    registry = RegistryService(database)
    assert registry.get_provider(s[0]).updated_at == T0  # identical: not touched
    assert registry.get_provider(s[1]).status is ProviderStatus.VALIDATED
    still_withdrawn = registry.get_provider(s[2])
    assert still_withdrawn.last_name == "F2"
    assert still_withdrawn.withdrawn_at == T0  # the withdrawal keeps its first date


def test_a_nihii_owned_by_another_registered_provider_is_rejected(
    database: Database, tmp_path: Path
) -> None:
    registry = RegistryService(database)
    registry.add_provider(example_ssin(50), "10000000999", "doctor", "Old", "Owner", now=T0)
    path = write_csv(
        tmp_path / "clash.csv",
        [
            HEADER,
            f"{example_ssin(51)},10000000999,doctor,New,Claim",
            f"{example_ssin(52)},,nurse,X,Y",
        ],
    )
    report = import_providers_csv(database, path, T0)
    assert report.rejected == [
        RejectedRow(
            2,
            "NIHII number 10000000999 already belongs to the provider"
            f" with SSIN {example_ssin(50)}.",
        )
    ]
    assert report.imported == 1


def test_bom_and_undecodable_bytes(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    good = f"{example_ssin(1)},,nurse,Zoë,Vermeulen\n".encode()
    latin1 = f"{example_ssin(2)},,nurse,".encode() + "Zoë".encode("latin-1") + b",Wouters\n"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n" + good + latin1)
    report = import_providers_csv(database, path, T0)
    assert report.imported == 1
    assert report.rejected == [RejectedRow(3, "The first name contains bytes that are not UTF-8.")]
    assert RegistryService(database).get_provider(example_ssin(1)).first_name == "Zoë"


@pytest.mark.parametrize(
    "first_line", ["", "ssin;nihii;profession;first_name;last_name", "ssin,nihii,profession"]
)
def test_a_wrong_header_refuses_the_whole_file(
    database: Database, tmp_path: Path, first_line: str
) -> None:
    path = write_csv(tmp_path / "header.csv", [first_line, f"{example_ssin(1)},,nurse,A,B"])
    with pytest.raises(EhcertError) as raised:
        import_providers_csv(database, path, T0)
    assert (raised.value.kind, raised.value.field) == (ErrorKind.MALFORMED, "header")
    assert provider_count(database) == 0


def test_progress_counts_bytes_up_to_the_file_size(database: Database, tmp_path: Path) -> None:
    lines = [HEADER] + [f"{example_ssin(index)},,nurse,First,Last" for index in range(250)]
    path = write_csv(tmp_path / "progress.csv", lines)
    calls: list[tuple[int, int]] = []
    report = import_providers_csv(
        database, path, T0, progress=lambda done, total: calls.append((done, total)), batch_size=50
    )
    size = path.stat().st_size
    assert report.imported == 250
    assert len(calls) >= 5
    assert all(total == size for _, total in calls)
    done = [done for done, _ in calls]
    assert done == sorted(done) and done[-1] == size


def test_an_import_interrupted_midway_leaves_nothing_written(
    database: Database, tmp_path: Path
) -> None:
    registry = RegistryService(database)
    registry.add_provider(example_ssin(0), None, "doctor", "Before", "Import", now=T0)
    lines = [HEADER, f"{example_ssin(0)},,doctor,Changed,ByImport"]
    lines += [f"{example_ssin(index)},,nurse,First,Last" for index in range(1, 400)]
    path = write_csv(tmp_path / "interrupted.csv", lines)
    batches: list[int] = []

    def stop_after_some_batches(done: int, total: int) -> None:
        batches.append(done)
        if len(batches) == 3:  # three batches (150 rows) have been written by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_providers_csv(database, path, T0, progress=stop_after_some_batches, batch_size=50)
    assert provider_count(database) == 1
    assert registry.get_provider(example_ssin(0)).first_name == "Before"
    with database.session() as session:
        assert verify_audit_chain(session).records == 1  # only the add_provider above
    # The same file imports completely once nothing interrupts it.
    report = import_providers_csv(database, path, T0, batch_size=50)
    assert (report.imported, report.updated) == (399, 1)
