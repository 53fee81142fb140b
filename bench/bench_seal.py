"""Peak memory and time of seal and unseal for 1 MB, 10 MB and 50 MB messages.

Run: .venv/bin/python bench/bench_seal.py
Peak memory is measured with tracemalloc around each call; the content (for seal) and the
sealed message (for unseal) exist before the call, so the figures are what seal/unseal
allocate on top of their input. The stated bound (module docs of client.etee.seal and
client.etee.unseal) is peak ≈ 2 x message size; the run fails if it is exceeded by more
than a small constant.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import tracemalloc

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ehcert.client.etee import seal, unseal
from ehcert.pki.keystore_entries import KeyEntry, Keystore

MOMENT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
SIZES_MB = (1, 10, 50)
BOUND_FACTOR = 2
SLACK_BYTES = 2 * 1024 * 1024


def _entry(alias: str, key: rsa.RSAPrivateKey, name: str) -> KeyEntry:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = x509.KeyUsage(True, True, True, False, False, False, False, False, False)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(MOMENT - dt.timedelta(days=1))
        .not_valid_after(MOMENT + dt.timedelta(days=365))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeyEntry(alias, key, certificate)


def _measure(action):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak, elapsed


def main() -> None:
    sender_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    recipient_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sender = _entry("authentication", sender_key, "bench sender")
    recipient = _entry("1", recipient_key, "bench recipient")
    keystore = Keystore((recipient,))
    failures = []
    for size_mb in SIZES_MB:
        size = size_mb * 1024 * 1024
        content = os.urandom(size)
        message, seal_peak, seal_time = _measure(
            lambda content=content: seal(
                content, sender=sender, recipients=[recipient.certificate], signing_time=MOMENT
            )
        )
        opened, unseal_peak, unseal_time = _measure(
            lambda message=message: unseal(
                message, [keystore], anchors=[sender.certificate], at=MOMENT
            )
        )
        assert opened.content == content
        del opened
        for label, peak, elapsed in (
            ("seal", seal_peak, seal_time),
            ("unseal", unseal_peak, unseal_time),
        ):
            ratio = peak / size
            print(
                f"{label:6} {size_mb:3} MB: peak {peak / 1048576:7.1f} MiB = "
                f"{ratio:4.2f} x size, {elapsed * 1000:7.0f} ms"
            )
            if peak > BOUND_FACTOR * size + SLACK_BYTES:
                failures.append(f"{label} {size_mb} MB used {ratio:.2f} x")
    if failures:
        raise SystemExit("memory bound exceeded: " + "; ".join(failures))


if __name__ == "__main__":
    main()
