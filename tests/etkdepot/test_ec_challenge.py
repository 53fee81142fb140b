"""The depot's proof-of-possession challenge for an EC encryption key (ECDH with an
ephemeral key, X9.63 KDF, AES key wrap) and an RSA one (RSAES-PKCS1-v1_5): only the key
it was made for opens it."""

from __future__ import annotations

import contextlib
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ehcert.pki.key_challenge import ChallengeNotOpened, decrypt_challenge, encrypt_challenge


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["p256", "p384"])
def test_an_ec_challenge_opens_with_its_key_only(curve: ec.EllipticCurve) -> None:
    key, other = ec.generate_private_key(curve), ec.generate_private_key(curve)
    plain = secrets.token_bytes(32)
    sealed = encrypt_challenge(key.public_key(), plain)
    point = 1 + 2 * ((curve.key_size + 7) // 8)
    assert len(sealed) == point + 40  # the ephemeral point, then 32 bytes wrapped (+8)
    assert decrypt_challenge(key, sealed) == plain
    assert encrypt_challenge(key.public_key(), plain) != sealed  # a new ephemeral key each time
    with pytest.raises(ChallengeNotOpened):
        decrypt_challenge(other, sealed)
    with pytest.raises(ChallengeNotOpened):
        decrypt_challenge(key, sealed[:-1])


def test_an_rsa_challenge_opens_with_its_key_only() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    plain = secrets.token_bytes(32)
    sealed = encrypt_challenge(key.public_key(), plain)
    assert decrypt_challenge(key, sealed) == plain
    # OpenSSL's implicit rejection (RFC 8017 section 7.2.2 note): the wrong key yields
    # bytes that are not the challenge rather than an error, so no padding oracle.
    with contextlib.suppress(ChallengeNotOpened):
        assert decrypt_challenge(other, sealed) != plain
