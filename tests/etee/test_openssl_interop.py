"""What ehcert seals opens with the openssl CLI, layer by layer.

* For the fixture ETKs (Alice, Bob): the fixture private keys are extracted with
  ``openssl pkcs12 -legacy`` and ``openssl cms -decrypt`` opens the envelope.
* Both signature layers verify with ``openssl cms -verify -CAfile`` against our root
  (the inner layer carries no certificates, so the sender's is given with -certfile).
* EC recipients (RFC 5753) both ways: what ehcert seals for a P-256 or P-384 key opens
  with ``openssl cms -decrypt`` and verifies (ECDSA) layer by layer, and a triple wrap
  made by ``openssl cms`` alone for EC and RSA recipients opens with ``unseal``.
Times are fixed with ``-attime`` when openssl verifies, and with libfaketime (Debian's
``faketime``) when it signs: ``openssl cms -sign`` stamps the signingTime attribute (RFC
5652 11.3) from the process clock and has no option to set it, and unseal checks the
sender's certificate at that time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from tests.conftest import without_faketime
from typer.testing import CliRunner

from ehcert.cli.main import app as cli_app
from ehcert.cli.options import CertRuntime
from ehcert.client.etee import seal, unseal
from ehcert.core.clock import FixedClock
from ehcert.pki.etk import parse_etk
from ehcert.pki.keystore import write_keystore_file

from .conftest import FIXTURES, T_OWN

CONTENT = b"Prescription: 2x daily.\n" * 50


def _run(*args: str) -> bytes:
    result = subprocess.run(["openssl", *args], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def _run_at_t_own(*args: str) -> bytes:
    """``openssl`` with its clock started at :data:`T_OWN`, whatever today's date: what it
    signs carries a signingTime inside the validity of our test PKI."""
    if shutil.which("faketime") is None:
        pytest.fail("faketime is not installed; run scripts/install-system-deps.sh")
    result = subprocess.run(
        ["faketime", "-f", T_OWN.strftime("@%Y-%m-%d %H:%M:%S"), "openssl", *args],
        capture_output=True,
        check=False,
        env={**without_faketime(os.environ), "TZ": "UTC"},
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def _pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _fixture_key(keystore: Path, alias: str, target: Path) -> Path:
    """The private key with friendlyName ``alias``, as openssl extracts it."""
    text = _run(
        "pkcs12", "-legacy", "-in", str(keystore), "-passin", "pass:test", "-nocerts", "-nodes"
    ).decode()
    for block in text.split("Bag Attributes")[1:]:
        if f"friendlyName: {alias}\n" in block:
            start = block.index("-----BEGIN PRIVATE KEY-----")
            end = block.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")
            target.write_text(block[start:end] + "\n")
            return target
    raise AssertionError(f"no key {alias} in {keystore}")


def _open_layer_by_layer(
    message: bytes, key: Path, recipient_pem: bytes, sender_pem: bytes, root_pem: bytes, work: Path
) -> bytes:
    attime = str(int(T_OWN.timestamp()))
    (work / "msg.der").write_bytes(message)
    (work / "root.pem").write_bytes(root_pem)
    (work / "sender.pem").write_bytes(sender_pem)
    (work / "recipient.pem").write_bytes(recipient_pem)
    _run(
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        str(work / "msg.der"),
        "-noverify",
        "-out",
        str(work / "env.der"),
    )
    _run(
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        str(work / "msg.der"),
        "-CAfile",
        str(work / "root.pem"),
        "-attime",
        attime,
        "-out",
        str(work / "env2.der"),
    )
    assert (work / "env.der").read_bytes() == (work / "env2.der").read_bytes()
    _run(
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        str(work / "env.der"),
        "-inkey",
        str(key),
        "-recip",
        str(work / "recipient.pem"),
        "-out",
        str(work / "inner.der"),
    )
    _run(
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        str(work / "inner.der"),
        "-certfile",
        str(work / "sender.pem"),
        "-CAfile",
        str(work / "root.pem"),
        "-attime",
        attime,
        "-out",
        str(work / "content"),
    )
    return (work / "content").read_bytes()


@pytest.mark.parametrize(
    ("etk", "keystore"),
    [
        ("alice/alices_public_key.etk", "alice/alices_private_key_store.p12"),
        ("bob/bobs_public_key.etk", "bob/bobs_private_key_store.p12"),
    ],
)
@pytest.mark.parametrize("cipher", ["aes128", "aes256"])
def test_sealed_for_fixture_etk_opens_with_openssl(
    etk, keystore, cipher, own_pki, tmp_path
) -> None:
    recipient = parse_etk((FIXTURES / etk).read_bytes()).encryption_certificate
    message = seal(
        CONTENT,
        sender=own_pki.carol.authentication,
        recipients=[recipient],
        cipher=cipher,
        signing_time=T_OWN,
    )
    key = _fixture_key(FIXTURES / keystore, str(recipient.serial_number), tmp_path / "key.pem")
    content = _open_layer_by_layer(
        message,
        key,
        _pem(recipient),
        _pem(own_pki.carol.authentication.certificate),
        _pem(own_pki.root),
        tmp_path,
    )
    assert content == CONTENT


def test_sealed_for_own_users_verifies_at_both_layers(own_pki, tmp_path) -> None:
    bob = own_pki.bob.encryption
    message = seal(
        CONTENT,
        sender=own_pki.alice.authentication,
        recipients=[bob.certificate, own_pki.carol.encryption.certificate],
        include_sender_encryption=own_pki.alice.encryption.certificate,
        signing_time=T_OWN,
    )
    key = tmp_path / "bob.pem"
    key.write_bytes(
        bob.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    content = _open_layer_by_layer(
        message,
        key,
        _pem(bob.certificate),
        _pem(own_pki.alice.authentication.certificate),
        _pem(own_pki.root),
        tmp_path,
    )
    assert content == CONTENT


def test_tampered_outer_signature_fails_in_openssl(own_pki, tmp_path) -> None:
    message = bytearray(
        seal(
            CONTENT,
            sender=own_pki.alice.authentication,
            recipients=[own_pki.bob.encryption.certificate],
            signing_time=T_OWN,
        )
    )
    message[-3] ^= 0x01  # the outer signature value is the last field
    (tmp_path / "msg.der").write_bytes(bytes(message))
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "msg.der"),
            "-noverify",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0


# ------------------------------------------------------------------ EC (RFC 5753), both ways


def _key_pem(entry, target: Path) -> Path:
    target.write_bytes(
        entry.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return target


@pytest.mark.parametrize(
    ("sender", "recipient", "cipher"),
    [
        ("dave", "dave", "aes256"),
        ("dave", "erin", "aes128"),
        ("erin", "dave", "aes128"),
        ("alice", "erin", "aes256"),
    ],
)
def test_sealed_for_ec_recipient_opens_and_verifies_with_openssl(
    sender, recipient, cipher, own_pki, ec_pki, tmp_path
) -> None:
    """``openssl cms -verify`` checks the outer ECDSA (or PSS) signature, ``-decrypt``
    does the ECDH key agreement with the recipient's key, ``-verify`` the inner one."""
    signer = getattr(ec_pki, sender, None) or getattr(own_pki, sender)
    reader = getattr(ec_pki, recipient)
    message = seal(
        CONTENT,
        sender=signer.authentication,
        recipients=[reader.encryption.certificate, own_pki.bob.encryption.certificate],
        cipher=cipher,
        signing_time=T_OWN,
    )
    content = _open_layer_by_layer(
        message,
        _key_pem(reader.encryption, tmp_path / "key.pem"),
        _pem(reader.encryption.certificate),
        _pem(signer.authentication.certificate),
        _pem(own_pki.root),
        tmp_path,
    )
    assert content == CONTENT


def _openssl_triple_wrap(
    signer,
    recipients: list[tuple[object, str | None]],
    cipher: str,
    digest: str,
    work: Path,
    *,
    by_key_id: bool = False,
) -> bytes:
    """Sign, encrypt, sign with the openssl CLI alone: inner without certificates, outer
    with the signer's certificate. ``recipients``: (certificate, KDF digest or None for
    openssl's default); ``by_key_id`` names recipients by subjectKeyIdentifier (rKeyId in
    a KeyAgreeRecipientInfo, RFC 5652 6.2.2) instead of issuer and serial."""
    (work / "content").write_bytes(CONTENT)
    (work / "signer.pem").write_bytes(_pem(signer.authentication.certificate))
    _key_pem(signer.authentication, work / "signer.key")
    sign = ["cms", "-sign", "-binary", "-nodetach", "-md", digest, "-outform", "DER"]
    sign += ["-signer", str(work / "signer.pem"), "-inkey", str(work / "signer.key")]
    _run_at_t_own(*sign, "-nocerts", "-in", str(work / "content"), "-out", str(work / "inner.der"))
    encrypt = ["cms", "-encrypt", "-binary", f"-{cipher}", "-inform", "DER", "-outform", "DER"]
    encrypt += ["-keyid"] if by_key_id else []
    for index, (certificate, kdf) in enumerate(recipients):
        path = work / f"recipient{index}.pem"
        path.write_bytes(_pem(certificate))
        encrypt += ["-recip", str(path)]
        if kdf is not None:
            encrypt += ["-keyopt", f"ecdh_kdf_md:{kdf}"]
    _run(*encrypt, "-in", str(work / "inner.der"), "-out", str(work / "envelope.der"))
    _run_at_t_own(*sign, "-in", str(work / "envelope.der"), "-out", str(work / "outer.der"))
    return (work / "outer.der").read_bytes()


@pytest.mark.parametrize(
    ("sender", "digest", "cipher", "by_key_id"),
    [
        ("dave", "sha384", "aes256", False),
        ("erin", "sha256", "aes128", False),
        ("alice", "sha256", "aes256", False),
        ("dave", "sha384", "aes128", True),
    ],
)
def test_openssl_triple_wrap_for_ec_recipients_opens_with_unseal(
    sender, digest, cipher, by_key_id, own_pki, ec_pki, tmp_path
) -> None:
    """What ``openssl cms`` makes for EC recipients (sha384kdf for P-384, sha256kdf for
    P-256) and an RSA one in the same envelope opens with the SDK for each of them."""
    signer = getattr(ec_pki, sender, None) or getattr(own_pki, sender)
    message = _openssl_triple_wrap(
        signer,
        [
            (ec_pki.dave.encryption.certificate, "sha384"),
            (ec_pki.erin.encryption.certificate, "sha256"),
            (own_pki.bob.encryption.certificate, None),
        ],
        cipher,
        digest,
        tmp_path,
        by_key_id=by_key_id,
    )
    if by_key_id:
        assert ec_pki.dave.encryption.certificate.serial_number.to_bytes(20, "big") not in message
    for reader in (ec_pki.dave, ec_pki.erin, own_pki.bob):
        result = unseal(message, [reader.keystore], anchors=[own_pki.root], at=T_OWN)
        assert result.content == CONTENT, result.report
        report = result.report
        assert report.data.valid and report.trust.trusted, report
        assert report.data.opened_with == reader.encryption.alias
        assert report.data.outer is not None and report.data.outer.digest_algorithm == digest


def test_openssl_default_sha1_kdf_is_refused_in_one_sentence(own_pki, ec_pki, tmp_path) -> None:
    """openssl's default ECDH KDF is X9.63 with SHA-1 (dhSinglePass-stdDH-sha1kdf-scheme):
    refused, with the scheme named, and no traceback."""
    message = _openssl_triple_wrap(
        ec_pki.dave, [(ec_pki.erin.encryption.certificate, None)], "aes128", "sha384", tmp_path
    )
    result = unseal(message, [ec_pki.erin.keystore], anchors=[own_pki.root], at=T_OWN)
    assert result.content is None
    [issue] = result.report.data.issues
    assert issue.code == "key_agreement_refused"
    assert "dhSinglePass-stdDH-sha1kdf-scheme (SHA-1) is not allowed" in issue.detail


def test_ehcert_unseal_opens_openssl_message_from_an_ec_sender(own_pki, ec_pki, tmp_path) -> None:
    """The command line: ``ehcert unseal`` opens what ``openssl cms`` signed with an EC
    P-384 key and encrypted for an EC and an RSA recipient, with the RSA recipient's
    keystore; both ECDSA layers verify."""
    message = _openssl_triple_wrap(
        ec_pki.dave,
        [
            (ec_pki.erin.encryption.certificate, "sha256"),
            (own_pki.bob.encryption.certificate, None),
        ],
        "aes256",
        "sha384",
        tmp_path,
    )
    (tmp_path / "msg.p7").write_bytes(message)
    keystore = tmp_path / "bob.p12"
    write_keystore_file(keystore, own_pki.bob.keystore, "secret-pass", iterations=1000)
    (tmp_path / "password").write_text("secret-pass\n")
    (tmp_path / "root.pem").write_bytes(_pem(own_pki.root))
    result = CliRunner().invoke(
        cli_app,
        [
            "unseal",
            "--keystore",
            str(keystore),
            "--password-file",
            str(tmp_path / "password"),
            "--anchor",
            str(tmp_path / "root.pem"),
            "--offline",
            "--json",
            str(tmp_path / "msg.p7"),
            str(tmp_path / "out.txt"),
        ],
        obj=CertRuntime(clock=FixedClock(T_OWN)),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.txt").read_bytes() == CONTENT
    data = json.loads(result.stdout)["report"]["data"]
    assert data["valid"] is True and data["opened_with_key"] == "RSA 2048"
    for layer in ("outer", "inner"):
        assert data[layer]["signature_algorithm"] == "sha384_ecdsa"
        assert data[layer]["signature_valid"] is True
