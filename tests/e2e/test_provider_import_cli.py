"""`ehcert admin provider import FILE.csv` as a real process, on SQLite and PostgreSQL:
good rows land, bad rows are reported by line, a refused file writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from ehcert.store.db import Database
from ehcert.store.models import ProviderRow
from ehcert.store.testing import example_ssin

EHCERT = [sys.executable, "-m", "ehcert.cli.main"]
HEADER = "ssin,nihii,profession,first_name,last_name"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EHCERT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def providers(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(ProviderRow)) or 0)


def test_import_reports_rows_and_lands_the_good_ones(database: Database, tmp_path: Path) -> None:
    ssins = [example_ssin(index) for index in range(2000, 2003)]
    source = tmp_path / "providers.csv"
    source.write_text(
        "\n".join(
            [
                HEADER,
                f"{ssins[0]},10000000101,doctor,Anna,Peeters",
                f"{ssins[1][:-1]}0,,nurse,Bart,Claes",
                f"{ssins[2]},,pharmacist,Chris,Dubois",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    common = ["--data-dir", str(tmp_path / "unused"), "--db", database.url]
    answer = run("admin", "provider", "import", str(source), *common, "--json")
    assert answer.returncode == 0, answer.stderr
    report = json.loads(answer.stdout)
    assert (report["imported"], report["updated"]) == (2, 0)
    assert [row["line"] for row in report["rejected"]] == [3]
    assert "check" in report["rejected"][0]["reason"].lower()
    assert providers(database) == 2

    again = run("admin", "provider", "import", str(source), *common)
    assert again.returncode == 0, again.stderr
    assert "Imported 0, updated 0, rejected 1." in again.stdout
    assert "line 3:" in again.stderr


def test_a_refused_file_writes_nothing_and_says_why(database: Database, tmp_path: Path) -> None:
    common = ["--data-dir", str(tmp_path / "unused"), "--db", database.url]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"ssin,name\n{example_ssin(2100)},Anna\n", encoding="utf-8")
    refused = run("admin", "provider", "import", str(wrong), *common)
    assert refused.returncode == 1
    assert "header" in refused.stderr.lower()
    assert "Traceback" not in refused.stderr
    missing = run("admin", "provider", "import", str(tmp_path / "absent.csv"), *common)
    assert missing.returncode == 1
    assert "absent.csv is not a readable file" in missing.stderr
    assert providers(database) == 0
