"""eHealth-layout keystores with EC P-384 keys (eHealth's second-generation certificates):
the authentication entry and an encryption key under its decimal serial, with chains,
written in strong and ``--legacy-compatible`` encryption, read back by this package,
``openssl pkcs12`` and Java's ``keytool``; a key on a curve outside the policy is kept
but refused in one sentence naming the curve."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ehcert.client.keys import build_encryption_certificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import dump_keystore, load_keystore
from ehcert.pki.keystore_entries import KeyEntry, Keystore, UnsupportedKeyEntry

PASSWORD = "Ec-Keystore-2026"  # ASCII: keytool refuses other passwords
MOMENT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, object] | None
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(MOMENT)
        .not_valid_after(MOMENT + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA384())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ec_keystore() -> Keystore:
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = _certificate("EC CA", ca_key, None)
    auth_key = ec.generate_private_key(ec.SECP384R1())
    auth = _certificate("SSIN=79021802145", auth_key, (ca.subject, ca_key))
    encryption_key = ec.generate_private_key(ec.SECP384R1())
    encryption = build_encryption_certificate(auth_key, auth, encryption_key)
    entries = (
        KeyEntry("authentication", auth_key, auth, (ca,)),
        KeyEntry(str(encryption.serial_number), encryption_key, encryption, (auth, ca)),
    )
    return Keystore(entries, (ca,))


@pytest.fixture(scope="module", params=[False, True], ids=["strong", "legacy"])
def ec_file(
    request: pytest.FixtureRequest, ec_keystore: Keystore, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("ec") / "ec.p12"
    path.write_bytes(dump_keystore(ec_keystore, PASSWORD, legacy_compatible=request.param))
    return path


def test_this_package_reads_both_ec_entries_back(ec_file: Path, ec_keystore: Keystore) -> None:
    loaded = load_keystore(ec_file.read_bytes(), PASSWORD)
    assert [e.alias for e in loaded.entries] == [e.alias for e in ec_keystore.entries]
    assert loaded.authentication().chain == ec_keystore.entries[0].chain
    (encryption,) = loaded.encryption_keys()
    assert encryption.certificate == ec_keystore.entries[1].certificate
    assert loaded.unsupported_entries == ()


def test_openssl_reads_two_p384_keys(ec_file: Path) -> None:
    result = subprocess.run(
        ["openssl", "pkcs12", "-in", str(ec_file), "-nodes", "-passin", f"pass:{PASSWORD}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.count("BEGIN PRIVATE KEY") == 2
    assert "friendlyName: authentication" in result.stdout


def test_keytool_lists_both_ec_aliases(ec_file: Path, ec_keystore: Keystore) -> None:
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool (Java) is not installed on this machine")
    result = subprocess.run(
        [
            keytool,
            "-list",
            "-v",
            "-storetype",
            "PKCS12",
            "-keystore",
            str(ec_file),
            "-storepass",
            PASSWORD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    blocks = result.stdout.split("Alias name: ")[1:]
    private = {b.splitlines()[0].strip() for b in blocks if "PrivateKeyEntry" in b}
    assert private == {entry.alias for entry in ec_keystore.entries}
    assert "384-bit EC" in result.stdout


def test_a_p192_key_is_kept_but_refused_naming_the_curve(ec_keystore: Keystore) -> None:
    weak_key = ec.generate_private_key(ec.SECP192R1())
    weak = _certificate("SSIN=79021802145", weak_key, None)
    unusable = UnsupportedKeyEntry("authentication", weak_key, weak)
    data = dump_keystore(Keystore((), (), (unusable,)), PASSWORD)
    loaded = load_keystore(data, PASSWORD)
    assert [e.alias for e in loaded.unsupported_entries] == ["authentication"]
    with pytest.raises(EhcertError) as caught:
        loaded.authentication()
    assert caught.value.kind is ErrorKind.BAD_KEY
    assert caught.value.detail == (
        "The keystore's authentication entry cannot be used: the key of entry "
        "'authentication' is not an accepted key (EC (P-192)); the platform accepts only RSA "
        "keys of at least 2048 bits and EC keys on P-256 or P-384."
    )
