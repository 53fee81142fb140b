"""What every benchmark in ``bench/`` shares: rates, the machine, and the figures it records.

A figure is a rate (or a time) measured beside a baseline measured **in the same run** on
the same machine, so the ratio between them holds even where absolute numbers do not
(a 2-core CI runner, a laptop on battery). Each script prints its figures as it goes and,
when ``EHCERT_BENCH_OUT`` names a file, appends them to it as JSON lines;
``bench/report.py`` turns that file into ``bench/results/<date>.json``, the table of
``docs/benchmarks.md`` and a chart of the ratios (``make bench`` runs it all).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure and the baseline it is judged against.

    ``higher_is_better``: a rate (per second) is better high, a time or a memory peak low;
    ``ratio`` is always "how good ehcert is against the baseline" (above 1: better).
    ``target``: the ratio an issue asks for, when it asks for one.
    """

    benchmark: str
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    higher_is_better: bool = True
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.value == 0 or self.baseline_value == 0:
            return 0.0
        if self.higher_is_better:
            return self.value / self.baseline_value
        return self.baseline_value / self.value

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def line(self) -> str:
        verdict = "" if self.met is None else ("  target met" if self.met else "  TARGET MISSED")
        target = "" if self.target is None else f" (target {self.target:.2f})"
        return (
            f"{self.name:48} {self.value:10.1f} {self.unit:6} | {self.baseline_name} "
            f"{self.baseline_value:.1f} | ratio {self.ratio:.2f}{target}{verdict}"
        )


def record(figure: Figure) -> Figure:
    """Print ``figure`` and append it to ``$EHCERT_BENCH_OUT`` (JSON lines) when set."""
    print(figure.line(), flush=True)
    out = os.environ.get("EHCERT_BENCH_OUT")
    if out:
        with Path(out).open("a", encoding="utf-8") as stream:
            entry = asdict(figure) | {"ratio": figure.ratio, "met": figure.met}
            stream.write(json.dumps(entry) + "\n")
    return figure


def rate(action: Callable[[], object], *, count: int, repeats: int = 3) -> float:
    """Operations per second of ``action``: the best of ``repeats`` runs of ``count`` calls.

    The best run, not the mean: on a shared machine the noise only ever slows a run down.
    """
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            action()
        elapsed = time.perf_counter() - start
        best = max(best, count / elapsed)
    return best


def median_seconds(action: Callable[[], object], *, repeats: int = 3) -> float:
    """The median wall time of ``repeats`` calls of ``action``."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def machine() -> dict[str, object]:
    """Cores, CPU model, OpenSSL and Python versions, load average: what a figure was
    measured on."""
    from cryptography.hazmat.backends.openssl.backend import backend

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        openssl_cli = subprocess.run(
            ["openssl", "version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        openssl_cli = "not installed"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "openssl_library": backend.openssl_version_text(),
        "openssl_cli": openssl_cli,
        "system": f"{platform.system()} {platform.release()}",
        # What else the machine was running: on a shared machine it moves every figure.
        "load_average": [round(value, 1) for value in os.getloadavg()],
    }
