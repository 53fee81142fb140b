"""``ehcert seal --to-etk`` to an EC P-384 ETK, against a running platform.

The doctor who seals holds an RSA certificate from the platform. The recipient's ETK
carries an EC P-384 encryption certificate (eHealth's second-generation tokens), signed
by an EC P-384 authentication certificate that chains to the platform's root. Until the
platform issues EC certificates itself, that authentication certificate is made here
with the root key of the test hierarchy (a mixed chain: EC leaf under an RSA CA).

The command verifies the ETK as one from the depot, seals with an ECDH key agreement for
the EC recipient and RSA key transport for the sender's own copy, says the key types in
``--json``, and both the EC holder (SDK) and the sender (``ehcert unseal``) open it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from ehcert.ca.keys import ROOT_ROLE, FileKeyBackend
from ehcert.cli.main import app as cli_app
from ehcert.cli.options import CertRuntime
from ehcert.client.etee import unseal
from ehcert.core.names import person_subject
from ehcert.pki.etk_build import build_etk
from ehcert.pki.keyfile import load_encrypted_key
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.profile_parts import issued_builder, key_usage
from ehcert.pki.profiles import random_serial
from ehcert.pki.signer import PrivateKeySigner
from ehcert.platform.root import key_backend

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

EC_DOCTOR = "68050555808"


def _root_key(env: RunningPlatform) -> rsa.RSAPrivateKey:
    """The test hierarchy's root key, from its encrypted file (file key backend)."""
    settings = env.platform.settings
    backend = key_backend(settings)
    assert isinstance(backend, FileKeyBackend)
    return load_encrypted_key(
        backend.path(ROOT_ROLE, 0), backend.passphrase_file.read_bytes().strip()
    )


def _ec_holder(
    root: x509.Certificate, root_key: rsa.RSAPrivateKey, now: dt.datetime
) -> tuple[KeyEntry, KeyEntry]:
    """An EC P-384 authentication and encryption entry (keyAgreement) under ``root``."""
    auth_key, enc_key = (
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP384R1()),
    )
    subject = person_subject(EC_DOCTOR, "Dave", "Tester")
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    auth = (
        issued_builder(
            subject,
            auth_key.public_key(),
            root,
            serial=random_serial(),
            not_before=start,
            not_after=end,
            ca_path_length=None,
        )
        .add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    serial = random_serial()
    encryption = (
        issued_builder(
            subject,
            enc_key.public_key(),
            auth,
            serial=serial,
            not_before=start,
            not_after=end,
            ca_path_length=None,
        )
        .add_extension(key_usage(key_agreement=True), critical=True)
        .sign(auth_key, hashes.SHA384())
    )
    return (
        KeyEntry("authentication", auth_key, auth, (root,)),
        KeyEntry(str(serial), enc_key, encryption, (auth, root)),
    )


def _ec_etk(
    encryption: KeyEntry, root: x509.Certificate, root_key: rsa.RSAPrivateKey, now: dt.datetime
) -> bytes:
    depot_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    depot = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ETK depot (EC test)")]))
        .issuer_name(root.subject)
        .public_key(depot_key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(root_key, hashes.SHA256())
    )
    return build_etk(
        encryption.certificate, list(encryption.chain), depot, PrivateKeySigner(depot_key), now
    )


def test_seal_to_an_ec_etk_file_with_the_command_line(
    env: RunningPlatform, actors: Actors, tmp_path: Path
) -> None:
    actors.add_provider()
    sender_keystore = actors.keystore(actors.eid())
    now = env.clock.now()
    with env.client() as client:
        root = client.ca_certificates().root
    root_key = _root_key(env)
    authentication, encryption = _ec_holder(root, root_key, now)
    etk_file = tmp_path / "dave.etk"
    etk_file.write_bytes(_ec_etk(encryption, root, root_key, now))
    password = tmp_path / "password"
    password.write_text(actors.password + "\n")
    (tmp_path / "letter.txt").write_bytes(b"referral letter")
    runner = CliRunner(env={"EHCERT_PLATFORM": env.url})
    runtime = CertRuntime(clock=env.clock)

    sealed = runner.invoke(
        cli_app,
        [
            "seal",
            "--keystore",
            str(sender_keystore),
            "--password-file",
            str(password),
            "--to-etk",
            str(etk_file),
            "--json",
            str(tmp_path / "letter.txt"),
            str(tmp_path / "letter.p7"),
        ],
        obj=runtime,
    )
    assert sealed.exit_code == 0, sealed.output
    [recipient] = json.loads(sealed.stdout)["recipients"]
    assert recipient["key_type"] == "EC secp384r1"
    assert recipient["encryption_serial"] == encryption.alias
    assert EC_DOCTOR in recipient["holder"]

    message = (tmp_path / "letter.p7").read_bytes()
    opened = unseal(message, [Keystore((authentication, encryption))], anchors=[root], at=now)
    assert opened.content == b"referral letter", opened.report
    assert opened.report.data.opened_with_key == "EC secp384r1"
    assert opened.report.data.key_encryption == (
        "dhSinglePass-stdDH-sha384kdf-scheme with aes128_wrap"
    )
    assert opened.report.trust.trusted, opened.report.trust.issues

    reread = runner.invoke(
        cli_app,
        [
            "unseal",
            "--keystore",
            str(sender_keystore),
            "--password-file",
            str(password),
            "--json",
            str(tmp_path / "letter.p7"),
            str(tmp_path / "copy.txt"),
        ],
        obj=runtime,
    )
    assert reread.exit_code == 0, reread.output
    assert (tmp_path / "copy.txt").read_bytes() == b"referral letter"
    assert json.loads(reread.stdout)["report"]["data"]["key_encryption"] == "rsaes_pkcs1v15"
