"""EC keys on a PKCS#11 token: reading, generating, importing, and the ECDSA format.

PKCS#11 knows an EC key by two attributes (PKCS#11 v2.40 section 2.3.3): ``CKA_EC_PARAMS``,
the DER ``ECParameters`` (here always a named curve, RFC 5480 section 2.1.1), and
``CKA_EC_POINT``, the DER OCTET STRING of the uncompressed point (X9.62). ``CKM_ECDSA``
signs a digest the caller computed (the token hashes nothing, as the Belgian eID applet
1.8 does not) and returns ``r || s``, each as long as the curve's order: the JWS form
(RFC 7518 section 3.4). X.509, CRLs and OCSP want the DER ``Ecdsa-Sig-Value`` instead
(RFC 5480 section 2.2 / RFC 3279 section 2.2.3): ``pki.public_keys.ecdsa_der`` converts.
"""

from __future__ import annotations

from typing import Any

from asn1crypto.core import OctetString
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import refuse
from ehcert.pki.public_keys import signature_hash, spki_problem


def ec_public_key(source: Any, label: str) -> ec.EllipticCurvePublicKey:
    """The EC public key of a token object (``CKA_EC_PARAMS`` and ``CKA_EC_POINT``),
    judged by the key policy: named curve, point on it, curve allowed."""
    try:
        spki = encode_ec_public_key(source)
    except (ValueError, TypeError, KeyError) as exc:
        raise EhcertError(
            ErrorKind.BAD_KEY, f"The EC key labelled '{label}' on the token cannot be read."
        ) from exc
    problem, key = spki_problem(spki, f"key labelled '{label}' on the token")
    if problem is not None:
        raise refuse(problem, field="key_label")
    if not isinstance(key, ec.EllipticCurvePublicKey):  # pragma: no cover - read as EC
        raise EhcertError(ErrorKind.BAD_KEY, f"The key labelled '{label}' is not an EC key.")
    return key


def ecdsa_sign(private: Any, data: bytes, public_key: ec.EllipticCurvePublicKey) -> bytes:
    """``r || s`` over the hash of ``data`` that matches the curve (SHA-384 for P-384),
    computed here, signed on the token with CKM_ECDSA."""
    digest = hashes.Hash(signature_hash(public_key))
    digest.update(data)
    signature: bytes = private.sign(digest.finalize(), mechanism=Mechanism.ECDSA)
    return signature


def generate_ec_keypair(session: Any, label: str, curve: str) -> tuple[Any, Any]:
    """A new sign-only EC key pair on ``curve`` (named), private half sensitive and never
    extractable; returns the (public, private) token objects."""
    parameters = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
    )
    pair: tuple[Any, Any] = parameters.generate_keypair(
        label=label,
        store=True,
        capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
        private_template={
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.PRIVATE: True,
        },
    )
    return pair


def ec_key_attributes(key: ec.EllipticCurvePrivateKey) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """(private-only, public-only) attributes of ``key`` for C_CreateObject: the private
    scalar as ``CKA_VALUE``, the point as ``CKA_EC_POINT``, ``CKA_EC_PARAMS`` in both."""
    size = (key.curve.key_size + 7) // 8
    point = key.public_key().public_numbers()
    encoded_point = b"\x04" + point.x.to_bytes(size, "big") + point.y.to_bytes(size, "big")
    params = encode_named_curve_parameters(key.curve.name)
    private = {
        Attribute.KEY_TYPE: KeyType.EC,
        Attribute.EC_PARAMS: params,
        Attribute.VALUE: key.private_numbers().private_value.to_bytes(size, "big"),
    }
    public = {
        Attribute.KEY_TYPE: KeyType.EC,
        Attribute.EC_PARAMS: params,
        Attribute.EC_POINT: OctetString(encoded_point).dump(),
    }
    return private, public
