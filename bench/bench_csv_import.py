"""Benchmark of the provider CSV import on SQLite and PostgreSQL.

Generates a file of N providers (300,000 by default) with a sprinkling of bad rows (bad SSIN
check, letters in the NIHII number, unknown profession, in-file duplicate), imports it into a
fresh database of each backend and prints rows per second and peak memory.

Peak memory is the process's resident set high-water mark during the import (Linux: reset
through ``/proc/self/clear_refs`` before each run), plus, with ``--tracemalloc``, the peak of
Python allocations in a second, traced run (tracing slows the import down, so it is never
the timed run).

    .venv/bin/python bench/bench_csv_import.py --rows 300000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ehcert.core.identifiers import Profession
from ehcert.registry.csv_import import ImportReport, import_providers_csv
from ehcert.store.db import Database, sqlite_url
from ehcert.store.testing import example_ssin, temporary_postgresql_database

NOW = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
PROFESSIONS = [profession.value for profession in Profession]
FIRST_NAMES = ["Anna", "Bart", "Chloé", "Dirk", "Elif", "Frank", "Greet", "Hamid", "Inès", "Jan"]
LAST_NAMES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Dubois"]


def generate(path: Path, rows: int, bad_every: int) -> int:
    """Write the CSV; return how many rows were made bad on purpose."""
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("ssin,nihii,profession,first_name,last_name,status\n")
        for index in range(rows):
            ssin = example_ssin(index)
            nihii = f"{10_000_000_000 + index:011d}" if index % 3 else ""
            profession = PROFESSIONS[index % len(PROFESSIONS)]
            first = FIRST_NAMES[index % len(FIRST_NAMES)]
            last = LAST_NAMES[(index // 7) % len(LAST_NAMES)]
            status = "pending" if index % 50 == 0 else ""
            if bad_every and index % bad_every == bad_every - 1:
                bad += 1
                kind = (index // bad_every) % 4
                if kind == 0:
                    ssin = ssin[:-2] + f"{(int(ssin[-2:]) + 1) % 100:02d}"
                elif kind == 1:
                    nihii = "1234567890X"
                elif kind == 2:
                    profession = "alchemist"
                else:
                    ssin = example_ssin(index - 1)  # duplicate of the previous row
            out.write(f"{ssin},{nihii},{profession},{first},{last},{status}\n")
    return bad


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[Database]:
    with ExitStack() as stack:
        if backend == "sqlite":
            url = sqlite_url(workdir / f"bench-{time.monotonic_ns()}.db")
        else:
            url = stack.enter_context(temporary_postgresql_database())
        database = Database(url)
        stack.callback(database.dispose)
        database.migrate()
        yield database


def run(backend: str, path: Path, workdir: Path, trace: bool) -> None:
    with fresh_database(backend, workdir) as database:
        exact_peak = _reset_peak_rss()
        before = _peak_rss_mib()
        started = time.perf_counter()
        report: ImportReport = import_providers_csv(database, path, NOW)
        elapsed = time.perf_counter() - started
        peak = _peak_rss_mib()
        # The nightly case: the same export again, nearly everything unchanged.
        started = time.perf_counter()
        again = import_providers_csv(database, path, NOW + dt.timedelta(days=1))
        again_elapsed = time.perf_counter() - started
    rows = report.accepted + len(report.rejected)
    label = "peak RSS" if exact_peak else "max RSS (whole process)"
    print(
        f"{backend:>10}: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s;"
        f" imported {report.imported:,}, rejected {len(report.rejected):,};"
        f" {label} {peak:.0f} MiB (+{peak - before:.0f} MiB during the import)"
    )
    print(
        f"{'':>10}  re-import: {again_elapsed:.1f} s = {rows / again_elapsed:,.0f} rows/s;"
        f" unchanged {again.unchanged:,}, updated {again.updated:,}"
    )
    if trace:
        with fresh_database(backend, workdir) as database:
            tracemalloc.start()
            import_providers_csv(database, path, NOW)
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"{'':>10}  peak Python allocations (tracemalloc): {traced_peak / 2**20:.1f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--bad-every", type=int, default=997, help="one bad row in N (0: none)")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgresql"], help="default: both"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python memory")
    arguments = parser.parse_args(argv)
    backends = arguments.backend or ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-") as directory:
        workdir = Path(directory)
        path = workdir / "providers.csv"
        started = time.perf_counter()
        bad = generate(path, arguments.rows, arguments.bad_every)
        size = path.stat().st_size / 2**20
        print(
            f"generated {arguments.rows:,} rows ({bad:,} bad, {size:.1f} MiB)"
            f" in {time.perf_counter() - started:.1f} s"
        )
        for backend in backends:
            run(backend, path, workdir, arguments.tracemalloc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
