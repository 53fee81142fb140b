"""One key policy (ehcert.core.keys): a 1024-bit RSA key is refused by every reader and
writer of keys with the same sentence, and EC keys are one edit away."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ehcert.ca.keys import KEY_SIZES
from ehcert.client.etee import seal
from ehcert.client.keys import build_csr, generate_rsa_key
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import (
    KEY_POLICY,
    KeyFacts,
    check_issued_key_size,
    check_platform_key_size,
    key_problem,
)
from ehcert.pki.csr import check_csr
from ehcert.pki.etk import parse_etk, verify_etk
from ehcert.pki.etk_build import build_etk
from ehcert.pki.profiles import ehealth_encryption_builder
from ehcert.pki.public_keys import check_public_key, key_facts
from ehcert.pki.signer import PrivateKeySigner

from .conftest import T_OWN, OwnPki

TOO_SMALL = "is RSA 1024 bits; the minimum is 2048 bits."


@pytest.fixture(scope="module")
def weak_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def _weak_encryption_certificate(pki: OwnPki, key: rsa.RSAPrivateKey):
    bob = pki.bob.authentication
    return ehealth_encryption_builder(
        bob.certificate.subject,
        key.public_key(),
        bob.certificate,
        serial=4242,
        not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2029, 1, 1, tzinfo=dt.UTC),
    ).sign(bob.private_key, hashes.SHA256())


def _refusal(action) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        action()
    assert refused.value.kind is ErrorKind.BAD_KEY
    return refused.value


def test_every_former_copy_refuses_a_1024_bit_key_with_one_sentence(own_pki, weak_key) -> None:
    weak_certificate = _weak_encryption_certificate(own_pki, weak_key)

    csr = _refusal(lambda: check_csr(build_csr(weak_key)))
    assert csr.detail == f"The CSR key {TOO_SMALL}" and csr.field == "csr"

    generated = _refusal(lambda: generate_rsa_key(1024))
    assert generated.detail == f"The requested key {TOO_SMALL}"

    sealed = _refusal(
        lambda: seal(
            b"x",
            sender=own_pki.alice.authentication,
            recipients=[weak_certificate],
            signing_time=T_OWN,
        )
    )
    assert sealed.detail.endswith(TOO_SMALL) and sealed.field == "recipients"

    etk = build_etk(
        weak_certificate,
        [own_pki.bob.authentication.certificate, own_pki.root],
        own_pki.depot.certificate,
        PrivateKeySigner(own_pki.depot.private_key),
        T_OWN,
    )
    verdict = verify_etk(parse_etk(etk), anchors=[own_pki.root], at=T_OWN)
    issue = next(i for i in verdict.validity_issues if i.code == "encryption_key_size")
    assert not verdict.valid and issue.detail.endswith(TOO_SMALL)

    direct = _refusal(lambda: check_public_key(weak_key.public_key(), "test key"))
    assert direct.detail == f"The test key {TOO_SMALL}"


def test_sizes_the_platform_issues_and_uses() -> None:
    for bits in KEY_POLICY.rsa_issued_sizes:
        check_issued_key_size(bits)
    with pytest.raises(EhcertError, match="accepts 2048, 3072 or 4096 bits"):
        check_issued_key_size(2560)
    for role, bits in KEY_SIZES.items():
        check_platform_key_size(bits, role)
    with pytest.raises(ValueError, match="the ocsp key size 1024"):
        check_platform_key_size(1024, "ocsp")


def test_ec_keys_on_p256_and_p384_are_accepted_and_other_curves_refused() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    facts = key_facts(p256)
    assert facts == KeyFacts("EC", 256, "secp256r1")
    assert key_problem(facts, "test key") is None
    assert key_problem(key_facts(ec.generate_private_key(ec.SECP384R1())), "test key") is None
    p521 = key_facts(ec.generate_private_key(ec.SECP521R1()).public_key())
    refused = key_problem(p521, "test key")
    assert refused is not None and refused.code == "key_algorithm"
    assert refused.detail == (
        "The test key is not an accepted key (EC (P-521)); the platform accepts only RSA "
        "keys of at least 2048 bits and EC keys on P-256 or P-384."
    )
    rsa_only = dataclasses.replace(KEY_POLICY, ec_curves=frozenset())
    assert key_problem(facts, "test key", rsa_only) is not None
