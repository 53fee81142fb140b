"""A public key judged by the product's key policy (:mod:`ehcert.core.keys`).

``core`` knows keys only as facts (algorithm, size, curve); this module reads those facts
from a ``cryptography`` key so that every reader (CSR, keystore, ETK, sealed message,
JWS, linter) applies the same rule with the same sentence.

A key object alone cannot tell how it was encoded: ``cryptography`` loads an EC key given
by explicit curve parameters as if it named its curve. So the readers of encoded keys (a
SubjectPublicKeyInfo in a CSR or certificate, a PKCS#8 key in a keystore) go through
:func:`spki_problem` / :func:`certificate_public_key` / :func:`check_private_key_info`,
which read the encoding with ``asn1crypto`` first (RFC 5480 section 2.1.1: namedCurve only)
and translate ``cryptography``'s refusal of a point off its curve into the policy's
sentence.

The signature hash follows the key (:func:`signature_hash`): SHA-256 for RSA and P-256,
SHA-384 for P-384 (RFC 5480 section 4 pairs each curve with the hash of its strength;
eHealth's second-generation CA signs ecdsa-with-SHA384).
"""

from __future__ import annotations

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ehcert.core.keys import (
    KeyFacts,
    KeyProblem,
    KeyType,
    check_key,
    explicit_parameters_problem,
    key_problem,
    point_off_curve_problem,
    refuse,
)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
"""The public keys the product uses: RSA and EC (P-256, P-384)."""
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
}


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


# --- encoded keys: explicit parameters and points off the curve ---------------------------


def _algorithm_problem(algorithm: asn1_keys.PublicKeyAlgorithm, what: str) -> KeyProblem | None:
    """Explicit or implicit EC parameters, or a curve outside the policy, read from the
    AlgorithmIdentifier itself (RFC 5480 section 2.1.1)."""
    if algorithm["algorithm"].native != "ec":
        return None
    parameters = algorithm["parameters"]
    if parameters.name != "named":
        return explicit_parameters_problem(what)
    curve = str(parameters.chosen.native)
    return key_problem(KeyFacts("EC", 0, curve), what)


def spki_problem(spki_der: bytes, what: str) -> tuple[KeyProblem | None, PublicKey | None]:
    """Read a DER SubjectPublicKeyInfo as the policy wants it: (None, key) when accepted,
    else (why not, None). Explicit curve parameters, a curve outside the policy, a point
    off its curve and an RSA key too small are each told in one sentence."""
    try:
        info = asn1_keys.PublicKeyInfo.load(spki_der)
        problem = _algorithm_problem(info["algorithm"], what)
    except (ValueError, TypeError, KeyError):  # KeyError: asn1crypto, an unknown algorithm
        return KeyProblem("key_algorithm", f"The {what} cannot be read."), None
    if problem is not None:
        return problem, None
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm):
        if info["algorithm"]["algorithm"].native == "ec":
            curve = str(info["algorithm"]["parameters"].chosen.native)
            return point_off_curve_problem(what, curve), None
        return KeyProblem("key_algorithm", f"The {what} cannot be read."), None
    problem = public_key_problem(key, what)
    if problem is not None:
        return problem, None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):  # pragma: no cover
        return KeyProblem("key_algorithm", f"The {what} is neither RSA nor EC."), None
    return None, key


def certificate_spki(certificate: x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo of ``certificate``, as it is written there."""
    parsed = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    der: bytes = parsed["tbs_certificate"]["subject_public_key_info"].dump()
    return der


def certificate_key_problem(certificate: x509.Certificate, what: str) -> KeyProblem | None:
    """None when ``certificate``'s key is accepted (named curve, point on it, policy)."""
    return spki_problem(certificate_spki(certificate), what)[0]


def certificate_public_key(
    certificate: x509.Certificate, what: str, *, field: str | None = None
) -> PublicKey:
    """``certificate``'s public key, refused (BAD_KEY) in one sentence when the policy,
    its encoding (explicit parameters) or its point (off the curve) says no."""
    problem, key = spki_problem(certificate_spki(certificate), what)
    if problem is not None or key is None:
        unreadable = KeyProblem("key_algorithm", f"The {what} cannot be read.")
        raise refuse(problem or unreadable, field=field)
    return key


def private_key_info_problem(pkcs8_der: bytes, what: str) -> KeyProblem | None:
    """An encoded PKCS#8 PrivateKeyInfo's EC parameters judged as :func:`spki_problem`
    judges a public key's (RFC 5915 section 3 / RFC 5480: namedCurve only)."""
    try:
        info = asn1_keys.PrivateKeyInfo.load(pkcs8_der)
        algorithm = info["private_key_algorithm"]
        if algorithm["algorithm"].native != "ec":
            return None
        parameters = algorithm["parameters"]
        if parameters.name != "named":
            return explicit_parameters_problem(what)
        return key_problem(KeyFacts("EC", 0, str(parameters.chosen.native)), what)
    except (ValueError, TypeError):
        return None  # not PKCS#8: left to the reader's own error


# --- generation and signature hash --------------------------------------------------------


def generate_private_key(key_type: KeyType) -> PrivateKey:
    """A new key of ``key_type`` (RSA with e = 65537, RFC 8017 section 3.1; or EC)."""
    if not isinstance(key_type, KeyType):
        raise TypeError("key_type must be a KeyType")
    if key_type.algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=key_type.bits)
    if key_type.curve not in _CURVES:
        raise ValueError(f"no EC curve {key_type.curve!r} in the key policy")
    return ec.generate_private_key(_CURVES[key_type.curve]())


def signature_hash(key: object) -> hashes.SHA256 | hashes.SHA384:
    """The hash a signature by ``key`` uses: SHA-384 for P-384, SHA-256 otherwise."""
    if key_facts(key).curve == "secp384r1":
        return hashes.SHA384()
    return hashes.SHA256()


def ecdsa_der(raw: bytes) -> bytes:
    """``r || s`` (PKCS#11 CKM_ECDSA, JWS) as the DER ``Ecdsa-Sig-Value`` that X.509, CRLs,
    OCSP and CMS carry (RFC 3279 section 2.2.3). ValueError when ``raw`` has odd length."""
    if not raw or len(raw) % 2:
        raise ValueError("an r || s signature has two halves of equal length")
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def ecdsa_raw(der: bytes, key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    """The DER ``Ecdsa-Sig-Value`` as ``r || s``, each as long as ``key``'s curve order
    (RFC 7518 section 3.4: 48 bytes each for P-384)."""
    r, s = decode_dss_signature(der)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


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
