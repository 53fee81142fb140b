"""What ehcert seals opens with the openssl CLI, layer by layer.

* For the fixture ETKs (Alice, Bob): the fixture private keys are extracted with
  ``openssl pkcs12 -legacy`` and ``openssl cms -decrypt`` opens the envelope.
* Both signature layers verify with ``openssl cms -verify -CAfile`` against our root
  (the inner layer carries no certificates, so the sender's is given with -certfile).
Times are fixed with ``-attime``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ehcert.client.etee import seal
from ehcert.pki.etk import parse_etk

from .conftest import FIXTURES, T_OWN

CONTENT = b"Prescription: 2x daily.\n" * 50


def _run(*args: str) -> bytes:
    result = subprocess.run(["openssl", *args], capture_output=True, check=False)
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
