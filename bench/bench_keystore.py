"""Time keystore loading and writing at the default iteration count.

Run: .venv/bin/python bench/bench_keystore.py
Shows what a user waits for when the Certificate Manager or the SDK opens a keystore:
one legacy file from the field, and the same content rewritten with our defaults. Two
figures are recorded: a keystore open against ``openssl pkcs12`` opening the same file
in the same run (it verifies the MAC and decrypts both keys, as ehcert does, plus its
own process start), and the PKCS#12 KDF in OpenSSL (``pki.pkcs12_kdf``) against the
same KDF in Python, at 600 000 iterations.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import Figure, machine, rate, record

from ehcert.pki import pkcs12_kdf
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
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.p12"
        path.write_bytes(modern)
        command = [
            "openssl", "pkcs12", "-in", str(path), "-passin", "pass:bench-password",
            "-nocerts", "-noenc", "-out", "/dev/null",
        ]  # fmt: skip
        openssl = rate(lambda: subprocess.run(command, check=True, capture_output=True), count=3)
    ours = rate(lambda: load_keystore(modern, "bench-password"), count=3)
    record(
        Figure("keystore", "keystore open (2 keys, 600k iterations)", ours, "/s",
               "openssl pkcs12 -in (same file)", openssl)
    )  # fmt: skip
    secret, salt, rounds = "bench".encode("utf-16-be") + b"\x00\x00", bytes(16), DEFAULT_ITERATIONS
    fast = rate(
        lambda: pkcs12_kdf.pkcs12_kdf(
            "sha256", secret, salt, purpose=3, iterations=rounds, length=32
        ),
        count=3,
    )
    slow = rate(
        lambda: pkcs12_kdf.python_pkcs12_kdf(
            "sha256", secret, salt, purpose=3, iterations=rounds, length=32
        ),
        count=3,
    )
    record(
        Figure("keystore", "PKCS#12 KDF in OpenSSL (600k iterations)", fast, "/s",
               "the same KDF in Python", slow)
    )  # fmt: skip


if __name__ == "__main__":
    main()
