"""Reading the platform's JSON answers and problem documents (docs/http-api.md).

The platform is trusted to answer, not to answer well: a proxy may put an HTML page
where JSON belongs, and a newer or older platform may drop or retype a field. Every
answer is therefore read through :class:`Answer`, which checks each field's JSON type
as it is read, and turned into the typed values of :mod:`ehcert.client.results`. An
answer that does not fit is the platform's fault and becomes an
:class:`~ehcert.core.errors.EhcertError` of kind ``INTERNAL`` naming the request and
the field. An error answer is an RFC 9457 problem document whose ``type`` ends in an
:class:`~ehcert.core.errors.ErrorKind` (:func:`problem_to_error`). Like the rest of
``ehcert.client``, this module imports nothing from the server.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import httpx
from cryptography import x509

from ehcert.client.results import (
    ApplicationIds,
    CertificateState,
    CertificateStatus,
    EtkChallenge,
    EtkIdentifier,
    EtkLookupResult,
    InstitutionQuality,
    IssuedCertificate,
    PlatformCertificates,
    PublishedEtk,
    Qualities,
    RenewalCheck,
    SelfQuality,
)
from ehcert.core.errors import EhcertError, ErrorKind


class Answer:
    """Typed reads from a JSON object; a missing or ill-typed field is the platform's fault.

    ``what`` names the request the answer belongs to ("a status query"), for the
    sentence of the error a misfit raises.
    """

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, dict):
            raise unexpected(what, "it is not a JSON object")
        self._data: dict[str, Any] = data
        self._what = what

    def _get(self, key: str, kind: type, optional: bool = False) -> Any:
        value = self._data.get(key)
        if value is None and optional:
            return None
        # bool is a subclass of int in Python, but not in JSON: true is no count of days.
        wrong_bool = isinstance(value, bool) and kind is not bool
        if not isinstance(value, kind) or wrong_bool:
            raise unexpected(self._what, f"field {key!r} is missing or has the wrong type")
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

    def objects(self, key: str) -> list[Answer]:
        return [Answer(item, self._what) for item in self._get(key, list)]

    def texts(self, key: str) -> list[str]:
        items = self._get(key, list)
        if not all(isinstance(item, str) for item in items):
            raise unexpected(self._what, f"field {key!r} is not a list of strings")
        return [str(item) for item in items]

    def child(self, key: str) -> Answer:
        return Answer(self._get(key, dict), self._what)

    def optional_child(self, key: str) -> Answer | None:
        value = self._get(key, dict, optional=True)
        return None if value is None else Answer(value, self._what)


def unexpected(what: str, why: str) -> EhcertError:
    """The error for an answer to ``what`` that the client cannot read, and ``why``."""
    return EhcertError(
        ErrorKind.INTERNAL, f"The platform's answer to {what} is not understood: {why}."
    )


def json_body(response: httpx.Response, what: str) -> object:
    """The JSON body of a successful answer to ``what``."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise unexpected(what, "it is not JSON") from None


def _parse_moment(text: str, what: str, key: str) -> dt.datetime:
    """ISO 8601 to an aware datetime; the platform works in UTC, so a bare time is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise unexpected(what, f"field {key!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def pem_certificates(pems: Sequence[str], what: str) -> list[x509.Certificate]:
    """Every certificate in ``pems``; one that is not valid PEM is the platform's fault."""
    certificates: list[x509.Certificate] = []
    for pem in pems:
        try:
            certificates.extend(x509.load_pem_x509_certificates(pem.encode("ascii")))
        except (ValueError, UnicodeEncodeError, x509.InvalidVersion):
            raise unexpected(what, "a certificate is not valid PEM") from None
    return certificates


def _optional_kind(text: str | None) -> ErrorKind | None:
    if text is None:
        return None
    try:
        return ErrorKind(text)
    except ValueError:
        return ErrorKind.INTERNAL


# --- certificates ------------------------------------------------------------------------


def read_status(answer: Answer) -> CertificateStatus:
    """A ``Status`` answer: one certificate's state and renewal window."""
    state = answer.text("status")
    try:
        status = CertificateState(state)
    except ValueError:
        raise unexpected("a status query", f"unknown status {state!r}") from None
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


def read_issued(answer: Answer) -> IssuedCertificate:
    """An ``Issued`` answer: the new certificate and its chain."""
    what = "a certificate request"
    leaf = pem_certificates([answer.text("certificate")], what)
    if len(leaf) != 1:
        raise unexpected(what, "it does not hold exactly one certificate")
    return IssuedCertificate(
        serial=answer.text("serial"),
        subject=answer.text("subject"),
        holder=answer.text("holder"),
        not_before=answer.moment("not_before"),
        not_after=answer.moment("not_after"),
        certificate=leaf[0],
        chain=tuple(pem_certificates(answer.texts("chain"), what)),
        environment=answer.text("environment"),
    )


def parse_status(data: object) -> CertificateStatus:
    """A ``Status`` answer (docs/http-api.md) as a :class:`CertificateStatus`."""
    return read_status(Answer(data, "a status query"))


def parse_issued(data: object) -> IssuedCertificate:
    """An ``Issued`` answer (docs/http-api.md) as an :class:`IssuedCertificate`."""
    return read_issued(Answer(data, "a certificate request"))


def read_qualities(answer: Answer) -> Qualities:
    """The answer to ``POST /v1/qualities``."""
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


def read_application_ids(answer: Answer) -> ApplicationIds:
    """The answer to ``POST /v1/application-ids``."""
    return ApplicationIds(answer.text("holder"), tuple(answer.texts("application_ids")))


def read_renewal_check(answer: Answer) -> RenewalCheck:
    """The answer to ``POST /v1/renewal-check``; an unknown refusal kind reads as INTERNAL."""
    return RenewalCheck(
        accepted=answer.flag("accepted"),
        reason=answer.optional_text("reason"),
        kind=_optional_kind(answer.optional_text("kind")),
        not_after=answer.moment("not_after"),
        renewal_opens=answer.moment("renewal_opens"),
        days_before_expiration=answer.integer("days_before_expiration"),
    )


def read_platform_certificates(answer: Answer, what: str) -> PlatformCertificates:
    """The answer to ``GET /v1/ca``: one PEM certificate per CA role, and the eID anchors."""

    def one(key: str) -> x509.Certificate:
        found = pem_certificates([answer.text(key)], what)
        if len(found) != 1:
            raise unexpected(what, f"field {key!r} does not hold exactly one certificate")
        return found[0]

    return PlatformCertificates(
        environment=answer.text("environment"),
        root=one("root"),
        issuing=one("issuing"),
        ocsp_signer=one("ocsp_signer"),
        etk_depot=one("etk_depot"),
        eid_anchors=tuple(pem_certificates(answer.texts("eid_anchors"), what)),
    )


# --- the ETK depot -----------------------------------------------------------------------


def read_etk_challenge(answer: Answer, what: str) -> EtkChallenge:
    """The answer to ``POST /v1/etk/challenges``: the challenge is base64url (RFC 4648
    section 5), padding optional."""
    text = answer.text("challenge")
    try:
        encrypted = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise unexpected(what, "field 'challenge' is not base64url") from None
    return EtkChallenge(answer.text("challenge_id"), encrypted, answer.moment("expires_at"))


def _etk_identifier(answer: Answer) -> EtkIdentifier:
    return EtkIdentifier(
        answer.text("type"), answer.text("value"), answer.optional_text("application_id")
    )


def read_published_etk(answer: Answer) -> PublishedEtk:
    """One published ETK; its base64 ``etk`` must match the ``etk_sha256`` sent with it."""
    what = "an ETK query"
    try:
        der = base64.b64decode(answer.text("etk"), validate=True)
    except (binascii.Error, ValueError):
        raise unexpected(what, "field 'etk' is not base64") from None
    etk_sha256 = answer.text("etk_sha256")
    if hashlib.sha256(der).hexdigest() != etk_sha256:
        raise unexpected(what, "the ETK does not match its SHA-256")
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


def read_etk_result(answer: Answer) -> EtkLookupResult:
    """GetEtk's answer for one identifier: an ETK, the matching identifiers, or an error."""
    error = answer.optional_child("error")
    etk = answer.optional_child("etk")
    return EtkLookupResult(
        identifier=_etk_identifier(answer.child("identifier")),
        etk=read_published_etk(etk) if etk is not None else None,
        matching=tuple(_etk_identifier(item) for item in answer.objects("matching")),
        error=error.text("message") if error is not None else None,
    )


# --- errors ------------------------------------------------------------------------------


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
