"""Time keystore loading and writing at the default iteration count.

Run: .venv/bin/python bench/bench_keystore.py
Shows what a user waits for when the Certificate Manager or the SDK opens a keystore:
one legacy file from the field, and the same content rewritten with our defaults.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ehcert.pki.keystore import DEFAULT_ITERATIONS, dump_keystore, load_keystore

FIXTURE = (
    Path(__file__).resolve().parents[1] / "tests/fixtures/etee/dirk/dirks_private_key_store.p12"
)


def _timed(label: str, action: Callable[[], object], rounds: int = 5) -> None:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    print(f"{label:55} median {statistics.median(samples) * 1000:7.1f} ms")


def main() -> None:
    legacy = FIXTURE.read_bytes()
    keystore = load_keystore(legacy, "test")
    modern = dump_keystore(keystore, "bench-password")
    _timed(
        "load legacy field file (3DES/RC2-40, 1024 iterations)",
        lambda: load_keystore(legacy, "test"),
    )
    _timed(
        f"dump 2 keys, {DEFAULT_ITERATIONS} iterations",
        lambda: dump_keystore(keystore, "bench-password"),
    )
    _timed(
        f"load 2 keys, {DEFAULT_ITERATIONS} iterations",
        lambda: load_keystore(modern, "bench-password"),
    )


if __name__ == "__main__":
    main()
