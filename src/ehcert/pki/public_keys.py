"""A public key judged by the product's key policy (:mod:`ehcert.core.keys`).

``core`` knows keys only as facts (algorithm, size, curve); this module reads those facts
from a ``cryptography`` key so that every reader (CSR, keystore, ETK, sealed message,
JWS, linter) applies the same rule with the same sentence.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from ehcert.core.keys import KeyFacts, KeyProblem, check_key, key_problem


def key_facts(key: object) -> KeyFacts:
    """The policy's view of ``key`` (any public or private key object)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return KeyFacts("RSA", key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return KeyFacts("EC", key.key_size, key.curve.name)
    if isinstance(key, dsa.DSAPublicKey | dsa.DSAPrivateKey):
        return KeyFacts("DSA", key.key_size)
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return KeyFacts("Ed25519", 256)
    if isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey):
        return KeyFacts("Ed448", 456)
    return KeyFacts(type(key).__name__, 0)


def describe_key(key: object) -> str:
    """``RSA 2048``, ``EC secp384r1``: the kind of a key, for reports and ``--json``."""
    facts = key_facts(key)
    if facts.algorithm == "EC" and facts.curve is not None:
        return f"EC {facts.curve}"
    return f"{facts.algorithm} {facts.bits}"


def public_key_problem(key: object, what: str) -> KeyProblem | None:
    """None when ``key`` is accepted, else the code and sentence (for verdicts)."""
    return key_problem(key_facts(key), what)


def check_public_key(key: object, what: str, *, field: str | None = None) -> None:
    """Refuse ``key`` outside the policy with EhcertError(BAD_KEY), naming ``what``."""
    check_key(key_facts(key), what, field=field)


def encryption_usage_name(key: object) -> str:
    """The keyUsage bit an encryption certificate with ``key`` must assert, in words:
    ``key encipherment`` for RSA key transport (RFC 5280 section 4.2.1.3, RFC 3370
    section 4.2), ``key agreement`` for an EC key, which only agrees keys by ECDH
    (RFC 5480 section 3, RFC 5753)."""
    return "key agreement" if isinstance(key, ec.EllipticCurvePublicKey) else "key encipherment"


def allows_encryption(key: object, usage: x509.KeyUsage | None) -> bool:
    """Whether ``usage`` lets a certificate holding ``key`` receive sealed messages
    (:func:`encryption_usage_name`)."""
    if usage is None:
        return False
    if isinstance(key, ec.EllipticCurvePublicKey):
        return usage.key_agreement
    return usage.key_encipherment
