"""Prepare, lint, sign: how every certificate, CRL and OCSP response gets its signature.

``cryptography``'s builders can only sign with an in-memory private key, but the CA's
keys may live in an HSM behind a :class:`~ehcert.pki.signer.Signer`. So issuance runs in
three steps (DESIGN.md, "issue in two steps", after Boulder's CA):

1. **prepare** -- sign the builder with a process-wide placeholder key of the signer's
   kind: RSA for an RSA signer (sha256WithRSAEncryption, RFC 4055 section 5), a key on
   the same curve for an EC signer (ecdsa-with-SHA256 or -SHA384, RFC 5758 section 3.2;
   :mod:`ehcert.pki.signer`), so the ``signature`` field inside the TBS structure already
   has its final value and the TBS bytes are exactly what the real key will sign;
2. **lint** -- run pkilint and the eHealth profile (:mod:`ehcert.pki.lint`) over that DER;
   any finding at WARNING or above stops issuance before the CA key is touched;
3. **sign** -- hand the TBS bytes to the real signer, put the signature into the outer
   structure with ``asn1crypto`` (RFC 5280 sections 4.1 and 5.1, RFC 6960 section 4.2.1)
   and load the result back with ``cryptography``, checking that the TBS is byte-for-byte
   what was signed and that the signature verifies under ``signer.public_key()``.

OCSP is the odd one out: ``OCSPResponseBuilder.sign`` refuses a key that does not match
the responder certificate. The placeholder response is therefore built for a stand-in
responder certificate (same subject, placeholder key); the responderID and ``certs`` are
then rewritten to the real delegated responder (RFC 6960 section 4.2.2.2) *before* lint and
signing, so what is linted is what is signed. The builder stamps producedAt with the real
clock; a platform running on its own clock overrides it in the same rewrite
(``produced_at``). Reading the builder's parts relies on ``cryptography``'s private
builder fields; :func:`_ocsp_builder_parts` fails loudly if they ever change.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import lint as pki_lint
from ehcert.pki.public_keys import PrivateKey, PublicKey, signature_hash
from ehcert.pki.signer import Signer, verifies

_PLACEHOLDER_LOCK = threading.Lock()
_placeholders: dict[str, PrivateKey] = {}

_DER = serialization.Encoding.DER


def _placeholder_key(public_key: PublicKey) -> PrivateKey:
    """The throw-away key that lets ``cryptography`` produce the final TBS bytes for a
    signer of ``public_key``: RSA 1024 for any RSA signer, the same curve for EC.

    Generated once per process and kind; it signs nothing that leaves this module. Its
    size shows only in the length of the placeholder's signature value, which step 3
    replaces: the signature AlgorithmIdentifier inside the TBS (sha256WithRSAEncryption
    and its kin, RFC 4055 section 5) names no key size, so the TBS bytes are the ones the
    real key signs. 1024 bits, the smallest ``cryptography`` makes, sign about four times
    faster than 2048 on every issuance, CRL and OCSP answer.
    """
    kind = "RSA" if isinstance(public_key, rsa.RSAPublicKey) else public_key.curve.name
    with _PLACEHOLDER_LOCK:
        if kind not in _placeholders:
            if isinstance(public_key, rsa.RSAPublicKey):
                # Signs only placeholders that never leave this module (docstring).
                _placeholders[kind] = rsa.generate_private_key(
                    public_exponent=65537,
                    key_size=1024,  # noqa: S505
                )
            else:
                _placeholders[kind] = ec.generate_private_key(type(public_key.curve)())
        return _placeholders[kind]


def _prepare_with(public_key: PublicKey) -> tuple[PrivateKey, Any]:
    """The placeholder and the hash a builder's ``sign`` takes for this signer."""
    return _placeholder_key(public_key), signature_hash(public_key)


def _signer_public_key(signer: Signer) -> PublicKey:
    key = signer.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError("signer.public_key() must return an RSA or EC public key")
    return key


def _well_formed(signature: bytes, public_key: PublicKey) -> bool:
    """An RSA signature as long as the modulus; an EC one a DER Ecdsa-Sig-Value."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return len(signature) == (public_key.key_size + 7) // 8
    try:
        decode_dss_signature(signature)
    except ValueError:
        return False
    return True


def _sign_and_check_length(signer: Signer, tbs: bytes, public_key: PublicKey) -> bytes:
    signature = signer.sign(tbs)
    if not isinstance(signature, bytes) or not _well_formed(signature, public_key):
        raise EhcertError(
            ErrorKind.INTERNAL,
            "The signer returned a signature whose form does not match its key.",
        )
    return signature


def _check_reassembled(
    public_key: PublicKey,
    signed_tbs: bytes,
    reloaded_tbs: bytes,
    signature: bytes,
    what: str,
) -> None:
    """The reloaded object carries exactly the TBS bytes that were signed, and its
    signature verifies under the signer's public key."""
    if reloaded_tbs != signed_tbs:
        raise EhcertError(
            ErrorKind.INTERNAL,
            f"The reassembled {what} does not carry the exact TBS bytes that were signed.",
        )
    if not verifies(public_key, signature, reloaded_tbs):
        raise EhcertError(
            ErrorKind.INTERNAL,
            f"The signed {what} does not verify under the signer's public key, "
            "so the signer's key and public key do not belong together.",
        )


def _with_signature(
    structure: Any, prepared_der: bytes, tbs_field: str, signature_field: str, signature: bytes
) -> bytes:
    """The DER of ``prepared_der`` (a certificate or CRL, RFC 5280 sections 4.1 and 5.1)
    with the placeholder's signature value replaced by ``signature``; the TBS part and
    signatureAlgorithm are copied unchanged. ``structure`` is the ``asn1crypto`` type."""
    parsed = structure.load(prepared_der)
    der: bytes = structure(
        {
            tbs_field: parsed[tbs_field],
            "signature_algorithm": parsed["signature_algorithm"],
            signature_field: signature,
        }
    ).dump()
    return der


# --- certificates ------------------------------------------------------------------------


def sign_certificate(
    builder: x509.CertificateBuilder, signer: Signer, *, lint: pki_lint.LintProfile | None
) -> x509.Certificate:
    """Lint ``builder``'s certificate against ``lint`` and sign it with ``signer``.

    The builder must be complete (subject key, issuer name, AKI/SKI...); ``lint=None``
    skips linting and is meant only for objects outside the eHealth profiles.
    """
    if not isinstance(builder, x509.CertificateBuilder):
        raise TypeError("builder must be a cryptography CertificateBuilder")
    if lint is not None and not isinstance(lint, pki_lint.LintProfile):
        raise TypeError("lint must be a LintProfile or None")
    public_key = _signer_public_key(signer)
    prepared = builder.sign(*_prepare_with(public_key))
    if lint is pki_lint.LintProfile.ROOT_CA and prepared.public_key() != public_key:
        raise EhcertError(
            ErrorKind.INTERNAL,
            "A root CA certificate must be self-signed, but its public key is not the "
            "signer's key.",
        )
    if lint is not None:
        pki_lint.assert_clean(pki_lint.lint_certificate(prepared.public_bytes(_DER), lint))
    tbs = prepared.tbs_certificate_bytes
    signature = _sign_and_check_length(signer, tbs, public_key)
    der = _with_signature(
        asn1_x509.Certificate,
        prepared.public_bytes(_DER),
        "tbs_certificate",
        "signature_value",
        signature,
    )
    cert = x509.load_der_x509_certificate(der)
    _check_reassembled(public_key, tbs, cert.tbs_certificate_bytes, cert.signature, "certificate")
    return cert


# --- CRLs --------------------------------------------------------------------------------


def sign_crl(
    builder: x509.CertificateRevocationListBuilder, signer: Signer, *, lint: bool = True
) -> x509.CertificateRevocationList:
    """Lint ``builder``'s CRL against RFC 5280 section 5 and sign it with ``signer``."""
    if not isinstance(builder, x509.CertificateRevocationListBuilder):
        raise TypeError("builder must be a cryptography CertificateRevocationListBuilder")
    public_key = _signer_public_key(signer)
    prepared = builder.sign(*_prepare_with(public_key))
    if lint:
        pki_lint.assert_clean(pki_lint.lint_crl(prepared.public_bytes(_DER)))
    tbs = prepared.tbs_certlist_bytes
    signature = _sign_and_check_length(signer, tbs, public_key)
    der = _with_signature(
        asn1_crl.CertificateList,
        prepared.public_bytes(_DER),
        "tbs_cert_list",
        "signature",
        signature,
    )
    signed = x509.load_der_x509_crl(der)
    _check_reassembled(public_key, tbs, signed.tbs_certlist_bytes, signed.signature, "CRL")
    return signed


# --- OCSP responses ----------------------------------------------------------------------


def _ocsp_builder_parts(
    builder: ocsp.OCSPResponseBuilder,
) -> tuple[Any, x509.Certificate, ocsp.OCSPResponderEncoding, list[x509.Certificate] | None, Any]:
    """The single response, responder, extra certificates and extensions of ``builder``.

    ``cryptography`` exposes no getters, so this reads its private fields and refuses
    clearly if their shape is not the expected one.
    """
    try:
        single = builder._response
        responder_cert, encoding = builder._responder_id or (None, None)
        certs = builder._certs
        extensions = builder._extensions
    except AttributeError as exc:  # pragma: no cover - depends on cryptography internals
        raise EhcertError(
            ErrorKind.INTERNAL,
            "This cryptography version's OCSPResponseBuilder cannot be read for signing.",
        ) from exc
    if single is None:
        raise ValueError("The OCSP builder has no single response; add one before signing.")
    if not isinstance(responder_cert, x509.Certificate) or not isinstance(
        encoding, ocsp.OCSPResponderEncoding
    ):
        raise ValueError("The OCSP builder has no responder_id; set it before signing.")
    return single, responder_cert, encoding, certs, extensions


@functools.lru_cache(maxsize=16)
def _stand_in_responder(responder_cert: x509.Certificate) -> x509.Certificate:
    """A certificate with the responder's subject but the placeholder key (never output).

    Cached per responder certificate: OCSP responses are the hot signing path.
    """
    key = _placeholder_key(_responder_key(responder_cert))
    not_before = responder_cert.not_valid_before_utc
    return (
        x509.CertificateBuilder()
        .subject_name(responder_cert.subject)
        .issuer_name(responder_cert.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=1))
        .sign(key, signature_hash(key))
    )


def _responder_key(responder_cert: x509.Certificate) -> PublicKey:
    key = responder_cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError("the OCSP responder certificate must hold an RSA or EC key")
    return key


def _produced_at(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC and whole seconds, as GeneralizedTime in OCSP is written (RFC 6960
    section 4.2.1 uses RFC 5280's profile: Zulu time, no fractional seconds, 4.1.2.5.2)."""
    if not isinstance(value, dt.datetime):
        raise TypeError("produced_at must be a datetime or None")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("produced_at must be timezone-aware")
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _rewrite_for_responder(
    placeholder_der: bytes,
    responder_cert: x509.Certificate,
    encoding: ocsp.OCSPResponderEncoding,
    certs: list[x509.Certificate],
    produced_at: dt.datetime | None,
) -> asn1_ocsp.BasicOCSPResponse:
    """Point responderID and ``certs`` at the real delegated responder (RFC 6960 4.2.1)
    and, when given, set producedAt (already in UTC and whole seconds)."""
    outer = asn1_ocsp.OCSPResponse.load(placeholder_der)
    basic: asn1_ocsp.BasicOCSPResponse = outer["response_bytes"]["response"].parsed
    response_data = basic["tbs_response_data"]
    if produced_at is not None:
        response_data["produced_at"] = produced_at
    if encoding is ocsp.OCSPResponderEncoding.HASH:
        # KeyHash: SHA-1 of the subjectPublicKey BIT STRING value (RFC 6960 section 4.2.1).
        key_hash = x509.SubjectKeyIdentifier.from_public_key(responder_cert.public_key()).digest
        responder_id = asn1_ocsp.ResponderId(name="by_key", value=key_hash)
    else:
        real = asn1_x509.Certificate.load(responder_cert.public_bytes(_DER))
        responder_id = asn1_ocsp.ResponderId(name="by_name", value=real.subject)
    response_data["responder_id"] = responder_id
    return asn1_ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": response_data,
            "signature_algorithm": basic["signature_algorithm"],
            "signature": basic["signature"].native,
            "certs": [asn1_x509.Certificate.load(c.public_bytes(_DER)) for c in certs],
        }
    )


def _wrap_basic(basic: asn1_ocsp.BasicOCSPResponse) -> bytes:
    der: bytes = asn1_ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    ).dump()
    return der


def sign_ocsp_response(
    builder: ocsp.OCSPResponseBuilder,
    signer: Signer,
    *,
    lint: bool = True,
    produced_at: dt.datetime | None = None,
) -> ocsp.OCSPResponse:
    """Lint ``builder``'s response against RFC 6960 and sign it with ``signer``.

    The builder's responder certificate is the delegated OCSP signer's certificate
    (RFC 6960 section 4.2.2.2) and must certify ``signer.public_key()``. When the builder
    names no extra certificates, the responder certificate is included so clients can
    verify the delegation.

    ``produced_at`` (timezone-aware) replaces the producedAt that ``cryptography`` takes
    from the real clock, so it agrees with thisUpdate/nextUpdate from the platform's
    clock; it is written in UTC with whole seconds, before lint and signature. ``None``
    keeps the builder's value.
    """
    if not isinstance(builder, ocsp.OCSPResponseBuilder):
        raise TypeError("builder must be a cryptography OCSPResponseBuilder")
    produced = None if produced_at is None else _produced_at(produced_at)
    public_key = _signer_public_key(signer)
    single, responder_cert, encoding, certs, extensions = _ocsp_builder_parts(builder)
    if responder_cert.public_key() != public_key:
        raise EhcertError(
            ErrorKind.INTERNAL,
            "The OCSP builder's responder certificate does not certify the signer's key "
            "(RFC 6960 section 4.2.2.2).",
        )
    stand_in = _stand_in_responder(responder_cert)
    placeholder = ocsp.OCSPResponseBuilder(single, (stand_in, encoding), None, extensions).sign(
        *_prepare_with(public_key)
    )
    basic = _rewrite_for_responder(
        placeholder.public_bytes(_DER),
        responder_cert,
        encoding,
        certs or [responder_cert],
        produced,
    )
    if lint:
        pki_lint.assert_clean(pki_lint.lint_ocsp_response(_wrap_basic(basic)))
    tbs = basic["tbs_response_data"].dump()
    signature = _sign_and_check_length(signer, tbs, public_key)
    basic["signature"] = signature
    response = ocsp.load_der_ocsp_response(_wrap_basic(basic))
    _check_reassembled(
        public_key, tbs, response.tbs_response_bytes, response.signature, "OCSP response"
    )
    return response
