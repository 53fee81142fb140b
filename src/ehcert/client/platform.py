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
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.client.keys import RequestSigner
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import b64url_encode, create_jws

DEFAULT_TIMEOUT_SECONDS = 30.0
# RFC 7515 section 4.1.9 does not register a media type for flattened JSON; ACME's
# application/jose+json (RFC 8555 section 6.2) is the one servers expect.
JOSE_JSON = "application/jose+json"


# --- answers -----------------------------------------------------------------------------


class CertificateState(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate the platform has just signed, with its chain (issuing CA, root)."""

    serial: str
    subject: str
    holder: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    environment: str


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """The platform's view of one certificate: validity, revocation, renewal window."""

    serial: str
    subject: str
    holder: str
    status: CertificateState
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    renewal_opens: dt.datetime
    renewal_window_open: bool


@dataclass(frozen=True, slots=True)
class SelfQuality:
    allowed: bool
    profession: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class InstitutionQuality:
    holder: str
    name: str | None
    allowed: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class Qualities:
    """What the signer may request a certificate for (certra ``getActorQualities``)."""

    ssin: str
    name: str
    as_self: SelfQuality
    institutions: tuple[InstitutionQuality, ...]


@dataclass(frozen=True, slots=True)
class ApplicationIds:
    """Application ids that already hold a certificate for ``holder``."""

    holder: str
    application_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RenewalCheck:
    """Would a renewal be accepted now (certra ``validateRenew``), and why not."""

    accepted: bool
    reason: str | None
    kind: ErrorKind | None
    not_after: dt.datetime
    renewal_opens: dt.datetime
    days_before_expiration: int


@dataclass(frozen=True, slots=True)
class PlatformCertificates:
    """The certificates a platform publishes: its CA hierarchy and the eID anchors it trusts."""

    environment: str
    root: x509.Certificate
    issuing: x509.Certificate
    ocsp_signer: x509.Certificate
    etk_depot: x509.Certificate
    eid_anchors: tuple[x509.Certificate, ...]

    @property
    def chain(self) -> tuple[x509.Certificate, x509.Certificate]:
        """Issuing CA then root: the chain of every certificate issued here."""
        return (self.issuing, self.root)


@dataclass(frozen=True, slots=True)
class EtkChallenge:
    """ETK registration step 1: a random challenge encrypted to the encryption key."""

    id: str
    encrypted: bytes
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EtkIdentifier:
    """Who an ETK is looked up for: ``TYPE=VALUE[,APPLICATION_ID]``."""

    type: str
    value: str
    application_id: str | None = None

    def __str__(self) -> str:
        base = f"{self.type}={self.value}"
        return f"{base},{self.application_id}" if self.application_id else base


@dataclass(frozen=True, slots=True)
class PublishedEtk:
    """An ETK as the depot publishes it. ``der`` is the CMS SignedData (verify it before
    use, ``pki.etk``); ``etk_sha256`` is the SHA-256 of ``der`` and
    ``encryption_certificate_sha256`` that of the encryption certificate inside."""

    holder: str
    subject: str
    encryption_serial: str
    authentication_serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    published_at: dt.datetime
    der: bytes
    etk_sha256: str
    encryption_certificate_sha256: str


@dataclass(frozen=True, slots=True)
class EtkLookupResult:
    """GetEtk's answer for one identifier: exactly one of ``etk``, ``matching``, ``error``."""

    identifier: EtkIdentifier
    etk: PublishedEtk | None
    matching: tuple[EtkIdentifier, ...]
    error: str | None


# --- helpers ----------------------------------------------------------------------------


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
    return format(certificate.serial_number, "x")


class _Answer:
    """Typed reads from a JSON object; a missing or ill-typed field is the platform's fault."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, dict):
            raise _unexpected(what, "it is not a JSON object")
        self._data: dict[str, Any] = data
        self._what = what

    def _get(self, key: str, kind: type, optional: bool = False) -> Any:
        value = self._data.get(key)
        if value is None and optional:
            return None
        # bool is a subclass of int in Python, but not in JSON: true is no count of days.
        wrong_bool = isinstance(value, bool) and kind is not bool
        if not isinstance(value, kind) or wrong_bool:
            raise _unexpected(self._what, f"field {key!r} is missing or has the wrong type")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, str))

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, str, optional=True)
        return None if value is None else str(value)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, bool))

    def integer(self, key: str) -> int:
        return int(self._get(key, int))

    def moment(self, key: str) -> dt.datetime:
        return _parse_moment(self.text(key), self._what, key)

    def optional_moment(self, key: str) -> dt.datetime | None:
        value = self.optional_text(key)
        return None if value is None else _parse_moment(value, self._what, key)

    def objects(self, key: str) -> list[_Answer]:
        return [_Answer(item, self._what) for item in self._get(key, list)]

    def texts(self, key: str) -> list[str]:
        items = self._get(key, list)
        if not all(isinstance(item, str) for item in items):
            raise _unexpected(self._what, f"field {key!r} is not a list of strings")
        return [str(item) for item in items]

    def child(self, key: str) -> _Answer:
        return _Answer(self._get(key, dict), self._what)


def _unexpected(what: str, why: str) -> EhcertError:
    return EhcertError(
        ErrorKind.INTERNAL, f"The platform's answer to {what} is not understood: {why}."
    )


def _parse_moment(text: str, what: str, key: str) -> dt.datetime:
    """ISO 8601 to an aware datetime; the platform works in UTC, so a bare time is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _unexpected(what, f"field {key!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _pem_certificates(pems: Sequence[str], what: str) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for pem in pems:
        try:
            certificates.extend(x509.load_pem_x509_certificates(pem.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise _unexpected(what, "a certificate is not valid PEM") from None
    return certificates


def _optional_kind(text: str | None) -> ErrorKind | None:
    if text is None:
        return None
    try:
        return ErrorKind(text)
    except ValueError:
        return ErrorKind.INTERNAL


def _status(answer: _Answer) -> CertificateStatus:
    state = answer.text("status")
    try:
        status = CertificateState(state)
    except ValueError:
        raise _unexpected("a status query", f"unknown status {state!r}") from None
    return CertificateStatus(
        serial=answer.text("serial"),
        subject=answer.text("subject"),
        holder=answer.text("holder"),
        status=status,
        not_before=answer.moment("not_before"),
        not_after=answer.moment("not_after"),
        revoked_at=answer.optional_moment("revoked_at"),
        revocation_reason=answer.optional_text("revocation_reason"),
        renewal_opens=answer.moment("renewal_opens"),
        renewal_window_open=answer.flag("renewal_window_open"),
    )


def _issued(answer: _Answer) -> IssuedCertificate:
    what = "a certificate request"
    leaf = _pem_certificates([answer.text("certificate")], what)
    if len(leaf) != 1:
        raise _unexpected(what, "it does not hold exactly one certificate")
    return IssuedCertificate(
        serial=answer.text("serial"),
        subject=answer.text("subject"),
        holder=answer.text("holder"),
        not_before=answer.moment("not_before"),
        not_after=answer.moment("not_after"),
        certificate=leaf[0],
        chain=tuple(_pem_certificates(answer.texts("chain"), what)),
        environment=answer.text("environment"),
    )


def _etk_identifier(answer: _Answer) -> EtkIdentifier:
    return EtkIdentifier(
        answer.text("type"), answer.text("value"), answer.optional_text("application_id")
    )


def _published_etk(answer: _Answer) -> PublishedEtk:
    what = "an ETK query"
    try:
        der = base64.b64decode(answer.text("etk"), validate=True)
    except (binascii.Error, ValueError):
        raise _unexpected(what, "field 'etk' is not base64") from None
    etk_sha256 = answer.text("etk_sha256")
    if hashlib.sha256(der).hexdigest() != etk_sha256:
        raise _unexpected(what, "the ETK does not match its SHA-256")
    return PublishedEtk(
        holder=answer.text("holder"),
        subject=answer.text("subject"),
        encryption_serial=answer.text("encryption_serial"),
        authentication_serial=answer.text("authentication_serial"),
        not_before=answer.moment("not_before"),
        not_after=answer.moment("not_after"),
        published_at=answer.moment("published_at"),
        der=der,
        etk_sha256=etk_sha256,
        encryption_certificate_sha256=answer.text("encryption_certificate_sha256"),
    )


def _etk_result(answer: _Answer) -> EtkLookupResult:
    error = answer._get("error", dict, optional=True)
    etk = answer._get("etk", dict, optional=True)
    return EtkLookupResult(
        identifier=_etk_identifier(answer.child("identifier")),
        etk=_published_etk(_Answer(etk, "an ETK query")) if etk is not None else None,
        matching=tuple(_etk_identifier(item) for item in answer.objects("matching")),
        error=_Answer(error, "an ETK query").text("message") if error is not None else None,
    )


def parse_status(data: object) -> CertificateStatus:
    """A ``Status`` answer (docs/http-api.md) as a :class:`CertificateStatus`."""
    return _status(_Answer(data, "a status query"))


def parse_issued(data: object) -> IssuedCertificate:
    """An ``Issued`` answer (docs/http-api.md) as an :class:`IssuedCertificate`."""
    return _issued(_Answer(data, "a certificate request"))


def problem_to_error(response: httpx.Response, base_url: str) -> EhcertError:
    """Turn an error answer into the :class:`EhcertError` the platform meant.

    An RFC 9457 problem document gives its kind (last segment of ``type``), sentence
    (``detail``) and ``field``. Anything else (a proxy's HTML page, an unknown kind) is
    reported with the HTTP status so the person can tell a gateway error from a refusal.
    """
    data: object = None
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        type_uri, detail = data.get("type"), data.get("detail")
        field = data.get("field")
        if isinstance(type_uri, str) and isinstance(detail, str) and detail:
            kind_text = type_uri.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            try:
                kind = ErrorKind(kind_text)
            except ValueError:
                kind = ErrorKind.INTERNAL
            return EhcertError(kind, detail, field=field if isinstance(field, str) else None)
    kind = ErrorKind.UNAVAILABLE if response.status_code in (502, 503, 504) else ErrorKind.INTERNAL
    return EhcertError(
        kind,
        f"The platform at {base_url} answered HTTP {response.status_code} "
        f"{response.reason_phrase} without an explanation.",
    )


# --- the client -------------------------------------------------------------------------


class PlatformClient:
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
        if not isinstance(base_url, str):
            raise TypeError("base_url must be a string")
        url = httpx.URL(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = str(url).rstrip("/")
        self._http = httpx.Client(
            timeout=timeout, transport=transport, headers={"Accept": "application/json"}
        )
        # ETK lookups by query string: (ETag, body), revalidated with If-None-Match.
        self._etk_cache: dict[str, tuple[str, object]] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, self.base_url + path, **kwargs)
        except httpx.TransportError as exc:
            reason = str(exc).rstrip(".") or type(exc).__name__
            raise EhcertError(
                ErrorKind.UNAVAILABLE,
                f"The platform at {self.base_url} cannot be reached: {reason}.",
            ) from None

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        raise problem_to_error(response, self.base_url)

    def _get_json(self, path: str, what: str) -> _Answer:
        response = self._checked(self._send("GET", path))
        return _Answer(_json_body(response, what), what)

    def nonce(self) -> str:
        """A fresh single-use nonce (``GET /v1/nonce``; RFC 8555 section 7.2)."""
        response = self._checked(self._send("GET", "/v1/nonce"))
        header = response.headers.get("Replay-Nonce")
        if isinstance(header, str) and header:
            return header
        return _Answer(_json_body(response, "a nonce request"), "a nonce request").text("nonce")

    def _post_signed(
        self, path: str, payload: Mapping[str, object], signer: RequestSigner, what: str
    ) -> _Answer:
        """POST a JWS over ``payload``; on ``bad-nonce`` retry once with the offered nonce."""
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        url = self.base_url + path
        nonce = self.nonce()
        for attempt in range(2):
            jws = create_jws(
                body,
                url=url,
                nonce=nonce,
                chain=list(signer.chain),
                sign=signer.sign,
                alg=signer.alg,
            )
            response = self._send(
                "POST",
                path,
                content=json.dumps(jws).encode("utf-8"),
                headers={"Content-Type": JOSE_JSON},
            )
            if response.is_success:
                return _Answer(_json_body(response, what), what)
            error = problem_to_error(response, self.base_url)
            if error.kind is not ErrorKind.BAD_NONCE or attempt == 1:
                raise error
            nonce = response.headers.get("Replay-Nonce") or self.nonce()
        raise AssertionError("unreachable")  # pragma: no cover

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
        return _issued(
            self._post_signed("/v1/certificates", payload, signer, "a certificate request")
        )

    def renew(self, signer: RequestSigner, csr_der: bytes, serial_hex: str) -> IssuedCertificate:
        """Renew ``serial_hex`` with a new key (``POST /v1/certificates/renew``)."""
        payload = {"csr": b64url_encode(csr_der), "serial": normalise_serial(serial_hex)}
        return _issued(
            self._post_signed("/v1/certificates/renew", payload, signer, "a renewal request")
        )

    def revoke(self, signer: RequestSigner, serial_hex: str, reason: str) -> CertificateStatus:
        """Revoke ``serial_hex`` for an RFC 5280 section 5.3.1 ``reason``."""
        payload = {"serial": normalise_serial(serial_hex), "reason": reason}
        return _status(
            self._post_signed("/v1/certificates/revoke", payload, signer, "a revocation request")
        )

    def status(self, serial_hex: str) -> CertificateStatus:
        """Public status of one certificate (``GET /v1/certificates/{serial}``)."""
        serial = normalise_serial(serial_hex)
        return _status(self._get_json(f"/v1/certificates/{serial}", "a status query"))

    def qualities(self, signer: RequestSigner) -> Qualities:
        answer = self._post_signed("/v1/qualities", {}, signer, "a qualities query")
        own = answer.child("as_self")
        return Qualities(
            ssin=answer.text("ssin"),
            name=answer.text("name"),
            as_self=SelfQuality(
                own.flag("allowed"), own.optional_text("profession"), own.optional_text("reason")
            ),
            institutions=tuple(
                InstitutionQuality(
                    item.text("holder"),
                    item.optional_text("name"),
                    item.flag("allowed"),
                    item.optional_text("reason"),
                )
                for item in answer.objects("institutions")
            ),
        )

    def application_ids(self, signer: RequestSigner, holder: str) -> ApplicationIds:
        answer = self._post_signed(
            "/v1/application-ids", {"holder": holder}, signer, "an application id query"
        )
        return ApplicationIds(answer.text("holder"), tuple(answer.texts("application_ids")))

    def revocable(self, signer: RequestSigner) -> tuple[CertificateStatus, ...]:
        answer = self._post_signed("/v1/revocable", {}, signer, "a revocable query")
        return tuple(_status(item) for item in answer.objects("certificates"))

    def renewal_check(self, signer: RequestSigner, serial_hex: str) -> RenewalCheck:
        answer = self._post_signed(
            "/v1/renewal-check", {"serial": normalise_serial(serial_hex)}, signer, "a renewal check"
        )
        return RenewalCheck(
            accepted=answer.flag("accepted"),
            reason=answer.optional_text("reason"),
            kind=_optional_kind(answer.optional_text("kind")),
            not_after=answer.moment("not_after"),
            renewal_opens=answer.moment("renewal_opens"),
            days_before_expiration=answer.integer("days_before_expiration"),
        )

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
        text = answer.text("challenge")
        try:
            encrypted = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise _unexpected(what, "field 'challenge' is not base64url") from None
        return EtkChallenge(answer.text("challenge_id"), encrypted, answer.moment("expires_at"))

    def register_etk(
        self, signer: RequestSigner, challenge_id: str, decrypted_challenge: bytes
    ) -> PublishedEtk:
        """ETK registration step 2 (``POST /v1/etk``): the decrypted challenge; the
        platform publishes the ETK and returns it."""
        payload = {"challenge_id": challenge_id, "answer": b64url_encode(decrypted_challenge)}
        return _published_etk(self._post_signed("/v1/etk", payload, signer, "an ETK registration"))

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
            data = _json_body(self._checked(response), "an ETK query")
            etag = response.headers.get("ETag")
            if etag:
                self._etk_cache[path] = (etag, data)
        answer = _Answer(data, "an ETK query")
        return tuple(_etk_result(item) for item in answer.objects("results"))

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
        answer = self._get_json("/v1/ca", what)

        def one(key: str) -> x509.Certificate:
            found = _pem_certificates([answer.text(key)], what)
            if len(found) != 1:
                raise _unexpected(what, f"field {key!r} does not hold exactly one certificate")
            return found[0]

        return PlatformCertificates(
            environment=answer.text("environment"),
            root=one("root"),
            issuing=one("issuing"),
            ocsp_signer=one("ocsp_signer"),
            etk_depot=one("etk_depot"),
            eid_anchors=tuple(_pem_certificates(answer.texts("eid_anchors"), what)),
        )


def _json_body(response: httpx.Response, what: str) -> object:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise _unexpected(what, "it is not JSON") from None
