"""Seal, unseal and seal+unseal against the ``openssl cms`` pipeline, with peak memory.

Run: .venv/bin/python bench/bench_seal.py (RSA-2048; bench_ec_seal.py runs EC P-384)

For 1 KB, 10 MB and 100 MB of random content, every figure beside its baseline measured
in the same run, best of 3 (the machine is shared: noise only ever slows a run down):

* **throughput** (MB/s) of ``seal``, ``unseal`` and both, against ``openssl cms`` doing
  the same steps with the same keys and algorithms as three piped processes: sign
  (RSASSA-PSS, SHA-256, salt 32; ECDSA with SHA-384 for P-384), encrypt (AES-128-CBC to
  the recipient's certificate), sign with the certificate included; and the reverse:
  verify against the sender's certificate as anchor, decrypt, verify. ehcert checks more
  on unseal (trust verdict, key usage, key policy), so the comparison leans to openssl.
* **peak memory** as a multiple of the payload, in a child process per case (so one
  case's peak does not hide another's): the child's peak RSS (``ru_maxrss``) minus its
  RSS before the input was read, so the input itself counts. seal+unseal keeps only the
  sealed message once it is made, as a sender hands it over. Bound: 3 x the payload.
* for 1 KB, seal+unseal per second against the **RSA-operation-bound limit**: the
  public-key operations one seal+unseal needs (two signatures and one key-transport
  decryption with the private keys, one key-transport encryption and two signature
  verifications with the public keys; for EC the ECDSA and ECDH equivalents, see
  :func:`_operations`), timed with the same keys in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from harness import Figure, record

from ehcert.client.etee import seal, unseal
from ehcert.pki.keystore_entries import KeyEntry, Keystore

MOMENT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
KB, MB = 1024, 1024 * 1024
SIZES = (("1 KB", KB), ("10 MB", 10 * MB), ("100 MB", 100 * MB))
MEMORY_BOUND = 3.0
THROUGHPUT_TARGET = 0.8
LIMIT_TARGET = 0.5
REPEATS = 3
SMALL_COUNT = 10
SMALL_ROUNDS = 30
"""At 1 KB: round trips per timed sample, and samples (the best counts: short samples
interleaved with the bound's, so a burst of other work on the machine spoils few)."""

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KINDS = ("RSA-2048", "EC P-384")


def _key(kind: str) -> Key:
    if kind == "RSA-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP384R1())


def _certificate(key: Key, name: str, *, signing: bool) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)
    usage = x509.KeyUsage(
        signing, signing, not signing and not is_ec, False, not signing and is_ec,
        False, False, False, False,
    )  # fmt: skip
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(MOMENT - dt.timedelta(days=1))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=365))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA384() if is_ec else hashes.SHA256())
    )


@dataclass(frozen=True)
class Parties:
    """The sender's authentication entry and the recipient's encryption entry, and the
    same keys and certificates as PEM files for openssl."""

    kind: str
    sender: KeyEntry
    recipient: KeyEntry
    folder: Path

    @classmethod
    def create(cls, kind: str, folder: Path) -> Parties:
        entries = []
        for alias, name, signing in (("authentication", "sender", True), ("1", "recipient", False)):
            key = _key(kind)
            certificate = _certificate(key, f"bench {kind} {name}", signing=signing)
            (folder / f"{name}.key").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            (folder / f"{name}.pem").write_bytes(
                certificate.public_bytes(serialization.Encoding.PEM)
            )
            entries.append(KeyEntry(alias, key, certificate))
        return cls(kind, entries[0], entries[1], folder)

    @classmethod
    def load(cls, kind: str, folder: Path) -> Parties:
        entries = []
        for alias, name in (("authentication", "sender"), ("1", "recipient")):
            key = serialization.load_pem_private_key((folder / f"{name}.key").read_bytes(), None)
            assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            certificate = x509.load_pem_x509_certificate((folder / f"{name}.pem").read_bytes())
            entries.append(KeyEntry(alias, key, certificate))
        return cls(kind, entries[0], entries[1], folder)

    def seal(self, content: bytes) -> bytes:
        return seal(
            content,
            sender=self.sender,
            recipients=[self.recipient.certificate],
            signing_time=MOMENT,
        )

    def unseal(self, message: bytes) -> bytes:
        opened = unseal(
            message, [Keystore((self.recipient,))], anchors=[self.sender.certificate], at=MOMENT
        )
        if opened.content is None or not opened.report.data.valid:
            raise SystemExit(f"{self.kind}: the message did not unseal: {opened.report}")
        return opened.content

    # ------------------------------------------------------------------ openssl

    def _sign_options(self) -> list[str]:
        if self.kind == "RSA-2048":
            return [
                "-md",
                "sha256",
                "-keyopt",
                "rsa_padding_mode:pss",
                "-keyopt",
                "rsa_pss_saltlen:32",
            ]
        return ["-md", "sha384"]

    def _kdf_options(self) -> list[str]:
        """For EC, the X9.63 KDF with SHA-384, as ehcert writes (openssl's default is
        SHA-1, which ehcert refuses to read)."""
        return [] if self.kind == "RSA-2048" else ["-keyopt", "ecdh_kdf_md:sha384"]

    def openssl_seal(self, source: Path, target: Path, peaks: Path | None = None) -> None:
        f = self.folder
        sign = ["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER"]
        signer = ["-signer", str(f / "sender.pem"), "-inkey", str(f / "sender.key")]
        _pipeline(
            [
                [*sign, *signer, *self._sign_options(), "-nocerts", "-in", str(source)],
                ["openssl", "cms", "-encrypt", "-binary", "-aes128", "-inform", "DER",
                 "-outform", "DER", "-recip", str(f / "recipient.pem"), *self._kdf_options()],
                [*sign, *signer, *self._sign_options(), "-out", str(target)],
            ],
            peaks,
        )  # fmt: skip

    def openssl_unseal(self, source: Path, target: Path, peaks: Path | None = None) -> None:
        f = self.folder
        verify = [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-CAfile",
            str(f / "sender.pem"),
        ]
        _pipeline(
            [
                [*verify, "-in", str(source)],
                ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER",
                 "-recip", str(f / "recipient.pem"), "-inkey", str(f / "recipient.key")],
                [*verify, "-certfile", str(f / "sender.pem"), "-out", str(target)],
            ],
            peaks,
        )  # fmt: skip


def _pipeline(commands: list[list[str]], peaks: Path | None = None) -> None:
    """Run ``commands`` as one shell-like pipeline (each reads the previous one's output);
    with ``peaks``, each under /usr/bin/time writing its peak RSS there."""
    processes: list[subprocess.Popen[bytes]] = []
    previous = None
    for index, command in enumerate(commands):
        timed = (
            []
            if peaks is None
            else ["/usr/bin/time", "-f", "%M", "-o", str(peaks / f"peak-{index}")]
        )
        last = index == len(commands) - 1
        process = subprocess.Popen(
            [*timed, *command],
            stdin=previous,
            stdout=subprocess.DEVNULL if last else subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if previous is not None:
            previous.close()
        previous = process.stdout
        processes.append(process)
    if any(process.wait() != 0 for process in processes):
        raise SystemExit(f"openssl failed: {' | '.join(c[2] for c in commands)}")


def _best(action: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


# ------------------------------------------------------------------------ memory


def _status(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in bytes (Linux). The high-water
    mark of ``getrusage`` is no use in a child: it starts from the parent's at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} in /proc/self/status")


def child(kind: str, case: str, folder: Path) -> None:
    """Peak memory of one case, printed as JSON: peak RSS above the RSS before the input."""
    parties = Parties.load(kind, folder)
    parties.unseal(parties.seal(os.urandom(KB)))  # lazy imports and caches, before measuring
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark restarts from here
    before = _status("VmRSS")
    if case == "seal":
        content = (folder / "payload").read_bytes()
        message = parties.seal(content)
    elif case == "unseal":
        message = (folder / "payload.sealed").read_bytes()
        opened = parties.unseal(message)
    else:
        content = (folder / "payload").read_bytes()
        message = parties.seal(content)
        del content  # the sender hands the sealed message over
        opened = parties.unseal(message)
    print(json.dumps({"peak_above_start": _status("VmHWM") - before}))
    del message
    if case != "seal":
        del opened


def _child_peak(kind: str, case: str, folder: Path) -> int:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, case, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(json.loads(output.splitlines()[-1])["peak_above_start"])


def _openssl_peak(action: Callable[[Path], object], folder: Path) -> int:
    """The largest peak RSS among the openssl processes of one run of ``action``, each
    measured by /usr/bin/time (``%M``)."""
    for old in folder.glob("peak-*"):
        old.unlink()
    action(folder)
    return max(int(path.read_text().split()[-1]) * 1024 for path in folder.glob("peak-*"))


# ------------------------------------------------------------------------ 1 KB


def _operations(parties: Parties) -> Callable[[], None]:
    """The public-key operations of one seal+unseal, with the parties' own keys.

    RSA: two RSASSA-PSS signatures (inner, outer) and their two verifications, one
    RSAES-PKCS1-v1_5 encryption of the content key and its decryption. EC: two ECDSA
    P-384 signatures and verifications, the sender's ephemeral key and its ECDH with
    the recipient's key (RFC 5753 key agreement), and the recipient's ECDH.
    """
    sender, recipient = parties.sender, parties.recipient
    message = b"signed attributes"
    sender_key, recipient_key = sender.private_key, recipient.private_key
    sender_public, recipient_public = sender_key.public_key(), recipient_key.public_key()
    if isinstance(sender_key, rsa.RSAPrivateKey):
        assert isinstance(recipient_key, rsa.RSAPrivateKey)
        assert isinstance(sender_public, rsa.RSAPublicKey)
        assert isinstance(recipient_public, rsa.RSAPublicKey)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        rsa_sender, rsa_recipient = sender_key, recipient_key
        rsa_sender_public, rsa_recipient_public = sender_public, recipient_public

        def rsa_operations() -> None:
            for _ in range(2):
                signature = rsa_sender.sign(message, pss, hashes.SHA256())
                rsa_sender_public.verify(signature, message, pss, hashes.SHA256())
            wrapped = rsa_recipient_public.encrypt(bytes(16), padding.PKCS1v15())
            rsa_recipient.decrypt(wrapped, padding.PKCS1v15())

        return rsa_operations
    assert isinstance(sender_key, ec.EllipticCurvePrivateKey)
    assert isinstance(recipient_key, ec.EllipticCurvePrivateKey)
    assert isinstance(sender_public, ec.EllipticCurvePublicKey)
    assert isinstance(recipient_public, ec.EllipticCurvePublicKey)
    ec_sender, ec_recipient = sender_key, recipient_key
    ec_sender_public, ec_recipient_public = sender_public, recipient_public

    def ec_operations() -> None:
        for _ in range(2):
            signature = ec_sender.sign(message, ec.ECDSA(hashes.SHA384()))
            ec_sender_public.verify(signature, message, ec.ECDSA(hashes.SHA384()))
        ephemeral = ec.generate_private_key(ec.SECP384R1())
        ephemeral.exchange(ec.ECDH(), ec_recipient_public)
        ec_recipient.exchange(ec.ECDH(), ephemeral.public_key())

    return ec_operations


def _small(parties: Parties) -> None:
    content = os.urandom(KB)
    operations = _operations(parties)
    round_trips = operations_best = float("inf")
    for _ in range(SMALL_ROUNDS):  # interleaved, so both see the same share of the machine
        round_trips = min(
            round_trips,
            _best(lambda: [parties.unseal(parties.seal(content)) for _ in range(SMALL_COUNT)], 1),
        )
        operations_best = min(
            operations_best, _best(lambda: [operations() for _ in range(SMALL_COUNT)], 1)
        )
    record(
        Figure(
            "seal",
            f"{parties.kind} seal+unseal 1 KB",
            SMALL_COUNT / round_trips,
            "/s",
            "public-key-operation-bound limit",
            SMALL_COUNT / operations_best,
            target=LIMIT_TARGET,
        )
    )


# ------------------------------------------------------------------------ main


def run(kind: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-seal-") as name:
        folder = Path(name)
        parties = Parties.create(kind, folder)
        _small(parties)
        for label, size in SIZES:
            _sized(parties, label, size)


def _sized(parties: Parties, label: str, size: int) -> None:
    _throughput(parties, label, size)  # its content and message are gone when it returns
    if size >= 10 * MB:
        _memory(parties, label, size)


def _throughput(parties: Parties, label: str, size: int) -> None:
    folder = parties.folder
    content = os.urandom(size)
    payload, sealed, opened = folder / "payload", folder / "payload.sealed", folder / "out"
    payload.write_bytes(content)
    message = parties.seal(content)
    sealed.write_bytes(message)
    parties.openssl_seal(payload, folder / "openssl.sealed")
    parties.openssl_unseal(sealed, opened)  # openssl reads what ehcert sealed
    if (
        opened.read_bytes() != content
        or parties.unseal((folder / "openssl.sealed").read_bytes()) != content
    ):
        raise SystemExit(f"{parties.kind} {label}: ehcert and openssl do not read each other")
    times: dict[str, float] = {}
    for _ in range(REPEATS):  # interleaved: ehcert then openssl in each repetition
        for name, action in (
            ("seal", lambda: parties.seal(content)),
            ("unseal", lambda: parties.unseal(message)),
            ("openssl seal", lambda: parties.openssl_seal(payload, folder / "openssl.sealed")),
            ("openssl unseal", lambda: parties.openssl_unseal(sealed, opened)),
        ):
            times[name] = min(times.get(name, float("inf")), _best(action, 1))
    amount, unit = (size / MB, "MB/s") if size >= MB else (1.0, "/s")
    for case in ("seal", "unseal", "seal+unseal"):
        ours = times["seal"] + times["unseal"] if case == "seal+unseal" else times[case]
        theirs = (
            times["openssl seal"] + times["openssl unseal"]
            if case == "seal+unseal"
            else times[f"openssl {case}"]
        )
        record(
            Figure(
                "seal",
                f"{parties.kind} {case} {label} throughput",
                amount / ours,
                unit,
                "openssl cms pipeline",
                amount / theirs,
                target=THROUGHPUT_TARGET if case == "seal+unseal" and size >= 10 * MB else None,
            )
        )


def _memory(parties: Parties, label: str, size: int) -> None:
    folder = parties.folder
    payload, sealed, opened = folder / "payload", folder / "payload.sealed", folder / "out"
    openssl_peaks = {
        "seal": _openssl_peak(
            lambda peaks: parties.openssl_seal(payload, folder / "openssl.sealed", peaks), folder
        ),
        "unseal": _openssl_peak(
            lambda peaks: parties.openssl_unseal(sealed, opened, peaks), folder
        ),
    }
    openssl_peaks["seal+unseal"] = max(openssl_peaks.values())
    for case in ("seal", "unseal", "seal+unseal"):
        peak = _child_peak(parties.kind, case, folder) / size
        record(
            Figure(
                "seal",
                f"{parties.kind} {case} {label} peak memory",
                peak,
                "x size",
                "bound",
                MEMORY_BOUND,
                higher_is_better=False,
                target=1.0,
                note=f"largest openssl process of the pipeline: {openssl_peaks[case] / size:.2f} x",
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CASE", "FOLDER"))
    parser.add_argument("--kind", choices=KINDS, default="RSA-2048")
    arguments = parser.parse_args()
    if arguments.child:
        kind, case, folder = arguments.child
        child(kind, case, Path(folder))
        return
    run(arguments.kind)


if __name__ == "__main__":
    main()
