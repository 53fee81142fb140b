"""EC keys on a PKCS#11 token (SoftHSM2): generated and imported keys sign with
CKM_ECDSA over a digest computed here (the token hashes nothing, like the eID applet
1.8); the token answers ``r || s`` (the JWS form), the CA's signer the DER form X.509
carries; a label holding no key is named in the refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_TYPES
from ehcert.pki.pkcs11 import Pkcs11Signer, Pkcs11Token
from ehcert.pki.public_keys import ecdsa_der

from .conftest import new_token


@pytest.mark.parametrize(
    ("key_type", "digest", "size"),
    [("ec-p256", hashes.SHA256(), 64), ("ec-p384", hashes.SHA384(), 96)],
)
def test_a_generated_ec_key_signs_raw_on_the_token_and_der_through_the_signer(
    softhsm_conf_dir: Path, key_type: str, digest: hashes.HashAlgorithm, size: int
) -> None:
    token_info = new_token(softhsm_conf_dir, "ec")
    token = Pkcs11Token(token_info.module, token_info.label, token_info.pin)
    public_key = token.generate_keypair("ec-key", KEY_TYPES[key_type])
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == KEY_TYPES[key_type].curve
    raw = token.sign("ec-key", b"to be signed")
    assert len(raw) == size
    public_key.verify(ecdsa_der(raw), b"to be signed", ec.ECDSA(digest))
    signer = Pkcs11Signer(token_info.module, token_info.label, "ec-key", token_info.pin)
    assert signer.public_key() == public_key
    public_key.verify(signer.sign(b"a TBS certificate"), b"a TBS certificate", ec.ECDSA(digest))


def test_an_imported_p384_key_keeps_its_public_half(softhsm_conf_dir: Path) -> None:
    token_info = new_token(softhsm_conf_dir, "ec-import")
    token = Pkcs11Token(token_info.module, token_info.label, token_info.pin)
    key = ec.generate_private_key(ec.SECP384R1())
    token.import_private_key("Authentication", key, None)
    assert token.public_key("Authentication") == key.public_key()
    raw = token.sign("Authentication", b"nonce")
    key.public_key().verify(ecdsa_der(raw), b"nonce", ec.ECDSA(hashes.SHA384()))
    with pytest.raises(EhcertError) as missing:
        token.sign("Signature", b"nonce")
    assert missing.value.kind is ErrorKind.NOT_FOUND
    assert missing.value.detail == "No private key labelled 'Signature' on the token."
