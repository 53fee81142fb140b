"""The platform's HTTP API seen from the holder's side (docs/http-api.md).

One :class:`PlatformClient` per platform URL. Every state-changing call, and every
query about the caller's own rights, is a JWS in flattened JSON serialization whose
protected header carries a fresh nonce, the exact URL and the signer's ``x5c`` chain,
as ACME does it (RFC 8555 section 6.2). The signer is a
:class:`~ehcert.client.keys.RequestSigner`: the holder's eID (first request, lost
keystore) or the authentication key of a current eHealth keystore (renew, revoke,
queries).

Errors arrive as RFC 9457 problem documents; the last segment of their ``type`` is an
:class:`~ehcert.core.errors.ErrorKind`, so the client raises the very
:class:`~ehcert.core.errors.EhcertError` the platform raised, with the platform's
sentence. A ``bad-nonce`` answer is retried once with the nonce from its
``Replay-Nonce`` header (RFC 8555 section 6.5). Only ``httpx`` and ``ehcert.core`` /
``ehcert.pki`` are used: this module works without the server installed.

This module holds the platform's nonces, the ETK answer cache and one method per
operation; the connection pool and the signed POST with its retry are
:class:`~ehcert.client.transport.PlatformHttp`, shared with the STS client. What the
answers mean lives in :mod:`ehcert.client.results` and
how they are read in :mod:`ehcert.client.answers`; both are re-exported here, so
``from ehcert.client.platform import CertificateStatus`` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.client.answers import (
    Answer,
    json_body,
    read_application_ids,
    read_etk_challenge,
    read_etk_result,
    read_issued,
    read_platform_certificates,
    read_published_etk,
    read_qualities,
    read_renewal_check,
    read_status,
)
from ehcert.client.keys import RequestSigner
from ehcert.client.results import (
    ApplicationIds,
    CertificateStatus,
    EtkChallenge,
    EtkIdentifier,
    EtkLookupResult,
    IssuedCertificate,
    PlatformCertificates,
    PublishedEtk,
    Qualities,
    RenewalCheck,
)
from ehcert.client.transport import DEFAULT_TIMEOUT_SECONDS, PlatformHttp
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import DEFAULT_REQUEST_KEY_TYPE, REQUEST_KEY_TYPES
from ehcert.pki.jws import b64url_encode

__all__ = [
    "DigitalKeyLogin",
    "PlatformClient",
    "normalise_serial",
    "serial_of",
]


def normalise_serial(text: str) -> str:
    """A serial number as the platform writes it: lower-case hex without leading zeros.

    Accepts what people copy from other tools: upper case, ``0x``, colons or spaces
    (``openssl x509 -serial`` prints ``serial=0A1B...``, browsers ``0A:1B:...``).
    """
    if not isinstance(text, str):
        raise TypeError("serial must be a hex string")
    cleaned = text.strip().lower().removeprefix("0x").replace(":", "").replace(" ", "")
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise ValueError(f"serial must be a hexadecimal number, got {text!r}") from None
    if value <= 0:
        raise ValueError("serial must be a positive number (RFC 5280 section 4.1.2.2)")
    return format(value, "x")


def serial_of(certificate: x509.Certificate) -> str:
    """The serial of ``certificate`` in the platform's spelling (see :func:`normalise_serial`)."""
    return format(certificate.serial_number, "x")


@dataclass(frozen=True, slots=True)
class DigitalKeyLogin:
    """A digital key's username, password and the current code of its authenticator app
    (the hybrid method: docs/foreign-providers.md). A code is accepted once."""

    username: str
    password: str
    code: str

    def __post_init__(self) -> None:
        for name in ("username", "password", "code"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string")

    def fields(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "code": self.code}

    def __repr__(self) -> str:  # never the password or the code
        return f"DigitalKeyLogin(username={self.username!r})"


class PlatformClient(PlatformHttp):
    """Talks to one platform over HTTP; usable as a context manager to close its pool.

    ``transport`` lets tests and the in-process test server plug in
    ``httpx.ASGITransport`` or ``httpx.WSGITransport``; real use leaves it ``None``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        # ETK lookups by query string: (ETag, body), revalidated with If-None-Match.
        self._etk_cache: dict[str, tuple[str, object]] = {}

    # -- transport ---------------------------------------------------------------------

    def _get_json(self, path: str, what: str) -> Answer:
        response = self._checked(self._send("GET", path))
        return Answer(json_body(response, what), what)

    def default_key_type(self) -> str:
        """The key type the platform advises for a new certificate (``GET /health``,
        ``default_key_type``; its ``default_key_type`` setting); ``rsa-2048`` from a
        platform that does not say, names one this client does not generate or cannot
        be asked now (the request that follows then says why in its own words)."""
        try:
            advised = self._get_json("/health", "the platform's health").optional_text(
                "default_key_type"
            )
        except EhcertError:
            return DEFAULT_REQUEST_KEY_TYPE
        return advised if advised in REQUEST_KEY_TYPES else DEFAULT_REQUEST_KEY_TYPE

    def nonce(self) -> str:
        """A fresh single-use nonce (``GET /v1/nonce``; RFC 8555 section 7.2)."""
        response = self._checked(self._nonce_response())
        header = response.headers.get("Replay-Nonce")
        if isinstance(header, str) and header:
            return header
        return Answer(json_body(response, "a nonce request"), "a nonce request").text("nonce")

    def _post_signed(
        self, path: str, payload: Mapping[str, object], signer: RequestSigner, what: str
    ) -> Answer:
        """POST a JWS over ``payload``; on ``bad-nonce`` retry once with the offered nonce."""
        response = self._post_jws(path, payload, signer, self.nonce)
        return Answer(json_body(response, what), what)

    def _post_json(self, path: str, body: Mapping[str, object], what: str) -> Answer:
        """POST a plain JSON body (the digital-key routes: no JWS, the login is the proof)."""
        response = self._checked(self._send("POST", path, json=dict(body)))
        return Answer(json_body(response, what), what)

    # -- operations --------------------------------------------------------------------

    def request_certificate(
        self,
        signer: RequestSigner,
        csr_der: bytes,
        institution: str | None = None,
        application_id: str | None = None,
    ) -> IssuedCertificate:
        """Ask for a new certificate, proven by an eID signature (``POST /v1/certificates``)."""
        payload = {
            "csr": b64url_encode(csr_der),
            "institution": institution,
            "application_id": application_id,
        }
        return read_issued(
            self._post_signed("/v1/certificates", payload, signer, "a certificate request")
        )

    def renew(self, signer: RequestSigner, csr_der: bytes, serial_hex: str) -> IssuedCertificate:
        """Renew ``serial_hex`` with a new key (``POST /v1/certificates/renew``)."""
        payload = {"csr": b64url_encode(csr_der), "serial": normalise_serial(serial_hex)}
        return read_issued(
            self._post_signed("/v1/certificates/renew", payload, signer, "a renewal request")
        )

    def revoke(self, signer: RequestSigner, serial_hex: str, reason: str) -> CertificateStatus:
        """Revoke ``serial_hex`` for an RFC 5280 section 5.3.1 ``reason``."""
        payload = {"serial": normalise_serial(serial_hex), "reason": reason}
        return read_status(
            self._post_signed("/v1/certificates/revoke", payload, signer, "a revocation request")
        )

    def request_with_digital_key(self, login: DigitalKeyLogin, csr_der: bytes) -> IssuedCertificate:
        """A first certificate for the digital key's holder
        (``POST /v1/digital-key/certificates``)."""
        body = {**login.fields(), "csr": b64url_encode(csr_der)}
        return read_issued(
            self._post_json("/v1/digital-key/certificates", body, "a certificate request")
        )

    def renew_with_digital_key(
        self, login: DigitalKeyLogin, csr_der: bytes, serial_hex: str
    ) -> IssuedCertificate:
        """Renew ``serial_hex`` with a digital key (``POST /v1/digital-key/certificates/renew``)."""
        body = {
            **login.fields(),
            "csr": b64url_encode(csr_der),
            "serial": normalise_serial(serial_hex),
        }
        return read_issued(
            self._post_json("/v1/digital-key/certificates/renew", body, "a renewal request")
        )

    def revoke_with_digital_key(
        self, login: DigitalKeyLogin, serial_hex: str, reason: str
    ) -> CertificateStatus:
        """Revoke ``serial_hex`` with a digital key (a lost keystore)."""
        body = {**login.fields(), "serial": normalise_serial(serial_hex), "reason": reason}
        return read_status(
            self._post_json("/v1/digital-key/certificates/revoke", body, "a revocation request")
        )

    def status(self, serial_hex: str) -> CertificateStatus:
        """Public status of one certificate (``GET /v1/certificates/{serial}``)."""
        serial = normalise_serial(serial_hex)
        return read_status(self._get_json(f"/v1/certificates/{serial}", "a status query"))

    def qualities(self, signer: RequestSigner) -> Qualities:
        """What the signer may request a certificate for (``POST /v1/qualities``)."""
        return read_qualities(self._post_signed("/v1/qualities", {}, signer, "a qualities query"))

    def application_ids(self, signer: RequestSigner, holder: str) -> ApplicationIds:
        answer = self._post_signed(
            "/v1/application-ids", {"holder": holder}, signer, "an application id query"
        )
        return read_application_ids(answer)

    def revocable(self, signer: RequestSigner) -> tuple[CertificateStatus, ...]:
        answer = self._post_signed("/v1/revocable", {}, signer, "a revocable query")
        return tuple(read_status(item) for item in answer.objects("certificates"))

    def renewal_check(self, signer: RequestSigner, serial_hex: str) -> RenewalCheck:
        answer = self._post_signed(
            "/v1/renewal-check", {"serial": normalise_serial(serial_hex)}, signer, "a renewal check"
        )
        return read_renewal_check(answer)

    # -- the ETK depot -----------------------------------------------------------------

    def etk_challenge(
        self, signer: RequestSigner, encryption_certificate: x509.Certificate
    ) -> EtkChallenge:
        """ETK registration step 1 (``POST /v1/etk/challenges``), signed with the new
        authentication certificate."""
        what = "an ETK registration"
        der = encryption_certificate.public_bytes(serialization.Encoding.DER)
        answer = self._post_signed(
            "/v1/etk/challenges", {"encryption_certificate": b64url_encode(der)}, signer, what
        )
        return read_etk_challenge(answer, what)

    def register_etk(
        self, signer: RequestSigner, challenge_id: str, decrypted_challenge: bytes
    ) -> PublishedEtk:
        """ETK registration step 2 (``POST /v1/etk``): the decrypted challenge; the
        platform publishes the ETK and returns it."""
        payload = {"challenge_id": challenge_id, "answer": b64url_encode(decrypted_challenge)}
        return read_published_etk(
            self._post_signed("/v1/etk", payload, signer, "an ETK registration")
        )

    def etks(self, identifiers: Sequence[str | EtkIdentifier]) -> tuple[EtkLookupResult, ...]:
        """GetEtk (``GET /v1/etk?id=...``): one result per identifier, in order.

        Answers are kept per query and revalidated with ``If-None-Match`` (RFC 9110
        section 13.1.2); a 304 reuses the kept answer.
        """
        path = "/v1/etk?" + urlencode([("id", str(identifier)) for identifier in identifiers])
        cached = self._etk_cache.get(path)
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = self._send("GET", path, headers=headers)
        if response.status_code == 304 and cached is not None:
            data = cached[1]
        else:
            data = json_body(self._checked(response), "an ETK query")
            etag = response.headers.get("ETag")
            if etag:
                self._etk_cache[path] = (etag, data)
        answer = Answer(data, "an ETK query")
        return tuple(read_etk_result(item) for item in answer.objects("results"))

    def etk(self, identifier: str | EtkIdentifier) -> PublishedEtk:
        """The one current ETK of ``identifier``, or the depot's refusal as NOT_FOUND."""
        (result,) = self.etks([identifier])
        if result.etk is not None:
            return result.etk
        if result.matching:
            ids = ", ".join(m.application_id or "" for m in result.matching)
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"{result.identifier} has ETKs only under application ids {ids}; name one of them.",
                field="application_id",
            )
        raise EhcertError(
            ErrorKind.NOT_FOUND, result.error or f"No ETK is published for {result.identifier}."
        )

    def ca_certificates(self) -> PlatformCertificates:
        """The environment's CA, OCSP and eID anchor certificates (``GET /v1/ca``)."""
        what = "a CA query"
        return read_platform_certificates(self._get_json("/v1/ca", what), what)

    def trust_list(self, sequence: int | None = None) -> bytes:
        """The newest signed trust list (``GET /v1/trust-list.xml``), or list number
        ``sequence`` (``GET /v1/trust-lists/{n}.xml``); verified by
        :mod:`ehcert.client.trust_store`, not here."""
        path = "/v1/trust-list.xml" if sequence is None else f"/v1/trust-lists/{sequence}.xml"
        return self._checked(self._send("GET", path)).content
