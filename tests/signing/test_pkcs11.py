"""PKCS#11 through a real SoftHSM2 token: signing, key attributes, PINs, errors."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import pkcs11 as pki_pkcs11
from ehcert.pki import pkcs11_sessions


def test_hsm_signer_signature_verifies(hsm_signers) -> None:
    data = b"tbs bytes"
    signature = hsm_signers.issuing.sign(data)
    hsm_signers.issuing.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    assert hsm_signers.issuing.public_key() != hsm_signers.root.public_key()


def test_generated_private_key_never_leaves_the_token(ca_token, hsm_signers) -> None:
    token = pkcs11.lib(ca_token.module).get_token(token_label=ca_token.label)
    with token.open() as session:  # the process is logged in, so this sees private objects
        key = session.get_key(
            object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=hsm_signers.root.key_label
        )
        assert key[pkcs11.Attribute.SENSITIVE] is True
        assert key[pkcs11.Attribute.EXTRACTABLE] is False
        assert key[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
        assert key[pkcs11.Attribute.DECRYPT] is False
        assert key[pkcs11.Attribute.TOKEN] is True
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[pkcs11.Attribute.PRIVATE_EXPONENT]


def test_new_token_is_found_and_pin_is_checked(softhsm_conf_dir: Path, end_entity_key) -> None:
    """A token created after the module was loaded is found (slot rescan); a wrong PIN is
    refused both at C_Login and when the process already holds a session."""
    label = f"pin-{secrets.token_hex(4)}"
    pki_pkcs11.init_softhsm_token(label, "87654321", "246810", softhsm_conf_dir)
    module = pki_pkcs11.SOFTHSM2_MODULE
    with pytest.raises(EhcertError) as first:
        pki_pkcs11.import_rsa_private_key(module, label, "999999", "k", end_entity_key, None)
    assert first.value.kind is ErrorKind.UNAUTHORIZED
    assert first.value.field == "pin"

    pki_pkcs11.import_rsa_private_key(module, label, "246810", "k", end_entity_key, None)
    signer = pki_pkcs11.Pkcs11Signer(module, label, "k", "246810")
    assert signer.public_key() == end_entity_key.public_key()
    signature = signer.sign(b"imported")
    end_entity_key.public_key().verify(signature, b"imported", padding.PKCS1v15(), hashes.SHA256())

    with pytest.raises(EhcertError) as again:
        pki_pkcs11.Pkcs11Signer(module, label, "k", "999999")
    assert again.value.kind is ErrorKind.UNAUTHORIZED


def test_missing_things_are_named(ca_token) -> None:
    with pytest.raises(EhcertError) as no_token:
        pki_pkcs11.Pkcs11Signer(ca_token.module, "no-such-token", "root", ca_token.pin)
    assert no_token.value.kind is ErrorKind.NOT_FOUND
    assert "no-such-token" in no_token.value.detail

    with pytest.raises(EhcertError) as no_key:
        pki_pkcs11.Pkcs11Signer(ca_token.module, ca_token.label, "no-such-key", ca_token.pin)
    assert no_key.value.kind is ErrorKind.NOT_FOUND
    assert no_key.value.field == "key_label"

    with pytest.raises(EhcertError) as no_module:
        pki_pkcs11.Pkcs11Signer("/nonexistent/libpkcs11.so", ca_token.label, "k", "1")
    assert no_module.value.kind is ErrorKind.UNAVAILABLE


def test_labels_are_not_reused(ca_token, hsm_signers) -> None:
    with pytest.raises(EhcertError) as caught:
        pki_pkcs11.generate_rsa_keypair_on_token(
            ca_token.module, ca_token.label, ca_token.pin, "root", 2048
        )
    assert caught.value.kind is ErrorKind.CONFLICT


def test_sessions_reopen_after_close(hsm_signers) -> None:
    pkcs11_sessions.close_sessions()
    data = b"after close"
    signature = hsm_signers.ocsp.sign(data)
    hsm_signers.ocsp.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def test_certificates_on_the_token(eid_token, eid_material) -> None:
    found = dict(pki_pkcs11.find_certificates(eid_token.module, eid_token.label, eid_token.pin))
    assert found == {
        "Authentication": eid_material.certificate,
        "CA": eid_material.citizen_ca,
        "Root": eid_material.root,
    }


def test_import_refuses_a_certificate_for_another_key(eid_token, eid_material) -> None:
    token = pki_pkcs11.Pkcs11Token(eid_token.module, eid_token.label, eid_token.pin)
    with pytest.raises(ValueError, match="certify"):
        token.import_rsa_private_key("Other", eid_material.key, eid_material.root)


def test_init_token_refuses_a_duplicate_label(ca_token, softhsm_conf_dir: Path) -> None:
    with pytest.raises(EhcertError) as caught:
        pki_pkcs11.init_softhsm_token(ca_token.label, "1", "2", softhsm_conf_dir)
    assert caught.value.kind is ErrorKind.CONFLICT


def test_argument_checks(ca_token) -> None:
    with pytest.raises(TypeError):
        pki_pkcs11.Pkcs11Token(ca_token.module, ca_token.label, 1234)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bits"):
        pki_pkcs11.generate_rsa_keypair_on_token(
            ca_token.module, ca_token.label, ca_token.pin, "small", 1024
        )
    with pytest.raises(ValueError, match="32 bytes"):
        pki_pkcs11.init_softhsm_token("x" * 33, "1", "2", "/tmp")


def test_forked_child_signs_with_its_own_session(hsm_signers) -> None:
    """A worker forked after the parent logged in re-initialises the module and signs."""
    data = b"signed in a forked worker"
    hsm_signers.issuing.sign(b"parent holds a session")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.write(write_end, hsm_signers.issuing.sign(data))
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        signature = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    hsm_signers.issuing.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    # The parent's own session still works after the child finalised its copy.
    hsm_signers.issuing.sign(b"parent again")
