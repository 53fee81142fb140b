"""Seal and unseal with an EC P-384 sender and recipient beside RSA-2048, in one run.

Run: .venv/bin/python bench/bench_ec_seal.py

For each message size (1 KB and 10 MB) and each key type, the best time of seal and of
unseal over several runs is printed (the best, not the median: the machine is shared, and
other work only ever adds time), then the ratio EC / RSA with RSA-2048 as the baseline
(1.00). The same
content, cipher (AES-128-CBC) and moment are used for both, so the difference is the
public-key work: RSA-PSS signing and RSA key transport against ECDSA P-384 (SHA-384) and
ephemeral-static ECDH with the X9.63 KDF and AES key wrap (RFC 5753). At 1 KB the
public-key operations dominate. At 10 MB AES and hashing do, and the P-384 sender's
SHA-384 digests (one per signature layer) cost more than SHA-256 on a CPU with the SHA
extensions, which accelerate SHA-256 only.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ehcert.client.etee import seal, unseal
from ehcert.pki.keystore_entries import KeyEntry, Keystore

MOMENT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
SIZES = (("1 KB", 1024, 60), ("10 MB", 10 * 1024 * 1024, 5))
"""Label, size in bytes and number of timed runs."""

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _entry(alias: str, key: Key, name: str, usage: x509.KeyUsage) -> KeyEntry:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    hash_algorithm = hashes.SHA384() if isinstance(key, ec.EllipticCurvePrivateKey) else None
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(MOMENT - dt.timedelta(days=1))
        .not_valid_after(MOMENT + dt.timedelta(days=365))
        .add_extension(usage, critical=True)
        .sign(key, hash_algorithm or hashes.SHA256())
    )
    return KeyEntry(alias, key, certificate)


def _parties(kind: str) -> tuple[KeyEntry, KeyEntry]:
    """A sender (signing) and a recipient (encryption) entry of one key type."""
    signing = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    if kind == "RSA-2048":
        sender_key: Key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        recipient_key: Key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        encryption = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    else:
        sender_key = ec.generate_private_key(ec.SECP384R1())
        recipient_key = ec.generate_private_key(ec.SECP384R1())
        encryption = x509.KeyUsage(False, False, False, False, True, False, False, False, False)
    return (
        _entry("authentication", sender_key, f"bench {kind} sender", signing),
        _entry("1", recipient_key, f"bench {kind} recipient", encryption),
    )


def _best_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    kinds = ("RSA-2048", "EC P-384")
    parties = {kind: _parties(kind) for kind in kinds}
    print(f"{'size':6} {'operation':9} " + " ".join(f"{k:>12}" for k in kinds) + "   EC/RSA")
    for label, size, runs in SIZES:
        content = os.urandom(size)
        for operation in ("seal", "unseal"):
            best: dict[str, float] = {}
            for kind in kinds:
                sender, recipient = parties[kind]
                message = seal(
                    content, sender=sender, recipients=[recipient.certificate], signing_time=MOMENT
                )
                opened = unseal(
                    message, [Keystore((recipient,))], anchors=[sender.certificate], at=MOMENT
                )
                if opened.content != content or not opened.report.data.valid:
                    raise SystemExit(f"{kind}: the message did not round-trip")
                if operation == "seal":
                    best[kind] = _best_ms(
                        lambda c=content, s=sender, r=recipient: seal(
                            c, sender=s, recipients=[r.certificate], signing_time=MOMENT
                        ),
                        runs,
                    )
                else:
                    best[kind] = _best_ms(
                        lambda m=message, s=sender, r=recipient: unseal(
                            m, [Keystore((r,))], anchors=[s.certificate], at=MOMENT
                        ),
                        runs,
                    )
            ratio = best["EC P-384"] / best["RSA-2048"]
            cells = " ".join(f"{best[k]:9.2f} ms" for k in kinds)
            print(f"{label:6} {operation:9} {cells}   {ratio:5.2f} (RSA-2048 = 1.00)")


if __name__ == "__main__":
    main()
