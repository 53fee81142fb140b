"""Revocation status fetched the way a relying party does: OCSP from AIA, then the CRL.

:class:`OnlineRevocationChecker` is a :data:`~ehcert.pki.revocation.RevocationChecker`
for the SDK. For a certificate and its issuer it:

1. asks each OCSP responder the certificate's authorityInformationAccess names
   (RFC 5280 section 4.2.2.1, RFC 6960 appendix A.1: HTTP POST) and believes the answer
   only as :func:`~ehcert.pki.ocsp_status.status_from_ocsp_response` allows;
2. when no responder gives a definite answer, fetches the CRLs of its
   cRLDistributionPoints (RFC 5280 section 4.2.1.13) and reads them as
   :func:`~ehcert.pki.revocation.crl_revocation_checker` does (issuer's signature,
   current at the time checked, scope);
   Each location is tried as named and then at the same path on every *mirror* the
   caller gives (normally the platform the user talks to, which serves its own OCSP and
   CRLs): a certificate made under another public URL still gets checked, and since
   every answer is verified by signature, where the bytes came from does not matter;
3. otherwise answers UNKNOWN with every reason met, which path validation turns into a
   failure (fail closed), never into GOOD.

Answers are cached for the life of the checker: a definite OCSP answer until its
``nextUpdate`` (at most an hour when it has none), a CRL until its ``nextUpdate``; so
opening a folder of messages from one sender costs one request. Only http(s) URLs are
followed, each request has a timeout, and an unreachable responder is a reason, not an
exception. This is client code: ``httpx`` and ``ehcert.pki`` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AuthorityInformationAccessOID

from ehcert.pki.ocsp_status import ocsp_request_for, read_ocsp_answer
from ehcert.pki.revocation import (
    CERTIFICATE_PARSE_ERRORS,
    RevocationState,
    RevocationStatus,
    certificate_extension,
    crl_revocation_checker,
    describe_name,
)

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 10 * 1024 * 1024
"""A CRL or OCSP answer larger than this is refused rather than read into memory."""
UNDATED_OCSP_CACHE = dt.timedelta(hours=1)
_SHA256 = hashes.SHA256()


@dataclass(frozen=True, slots=True)
class _Cached:
    status: RevocationStatus
    until: dt.datetime


def _http_urls(names: Iterable[x509.GeneralName]) -> list[str]:
    urls: list[str] = []
    for name in names:
        if isinstance(name, x509.UniformResourceIdentifier) and name.value.lower().startswith(
            ("http://", "https://")
        ):
            urls.append(name.value)
    return urls


def ocsp_urls(certificate: x509.Certificate) -> list[str]:
    """The http(s) OCSP responders named in ``certificate``'s AIA extension."""
    try:
        access = certificate_extension(certificate, x509.AuthorityInformationAccess)
    except CERTIFICATE_PARSE_ERRORS:
        return []
    return _http_urls(
        [
            d.access_location
            for d in access or ()
            if d.access_method == AuthorityInformationAccessOID.OCSP
        ]
    )


def crl_urls(certificate: x509.Certificate) -> list[str]:
    """The http(s) CRL locations of ``certificate``'s cRLDistributionPoints."""
    try:
        points = certificate_extension(certificate, x509.CRLDistributionPoints)
    except CERTIFICATE_PARSE_ERRORS:
        return []
    return _http_urls([name for point in points or () for name in point.full_name or ()])


class OnlineRevocationChecker:
    """OCSP first, then CRLs, cached; see the module docstring.

    ``now`` gives the moment answers must be current at (normally the clock's time);
    ``mirrors`` are base URLs tried at the same path when a named location fails;
    ``transport`` lets tests route requests to an in-process platform.
    """

    def __init__(
        self,
        now: Callable[[], dt.datetime],
        *,
        mirrors: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._now = now
        self._mirrors = tuple(m.rstrip("/") for m in mirrors)
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self._answers: dict[tuple[bytes, int], _Cached] = {}
        self._crls: dict[str, x509.CertificateRevocationList] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OnlineRevocationChecker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __call__(self, certificate: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        at = self._now()
        key = (issuer.fingerprint(_SHA256), certificate.serial_number)
        cached = self._answers.get(key)
        if cached is not None and at <= cached.until:
            return cached.status
        reasons: list[str] = []
        for url in self._locations(ocsp_urls(certificate)):
            answer = self._ocsp(url, certificate, issuer, at, key)
            if answer.state is not RevocationState.UNKNOWN:
                return answer
            reasons.append(f"OCSP at {url}: {answer.detail}")
        for url in self._locations(crl_urls(certificate)):
            crl, why = self._crl(url, at)
            if crl is None:
                reasons.append(f"CRL at {url}: {why}")
                continue
            answer = crl_revocation_checker([crl], at=at)(certificate, issuer)
            if answer.state is not RevocationState.UNKNOWN:
                return answer
            reasons.append(f"CRL at {url}: {answer.detail}")
        if not reasons:
            reasons.append(
                f"the certificate of {describe_name(certificate.subject)} names no OCSP "
                "responder and no CRL"
            )
        return RevocationStatus.unknown("; ".join(reasons))

    def _locations(self, urls: list[str]) -> list[str]:
        """``urls``, then each one's path on every mirror, without repeats."""
        found = list(urls)
        for url in urls:
            parsed = httpx.URL(url)
            path = parsed.raw_path.decode("ascii", "replace")
            for mirror in self._mirrors:
                candidate = mirror + path
                if candidate not in found:
                    found.append(candidate)
        return found

    def _get(self, method: str, url: str, **kwargs: object) -> tuple[bytes | None, str]:
        try:
            response = self._http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            return None, f"cannot be reached ({str(error).rstrip('.') or type(error).__name__})"
        if response.status_code != 200:
            return None, f"answered HTTP {response.status_code}"
        if len(response.content) > MAX_ANSWER_BYTES:
            return None, "the answer is too large"
        return response.content, ""

    def _ocsp(
        self,
        url: str,
        certificate: x509.Certificate,
        issuer: x509.Certificate,
        at: dt.datetime,
        key: tuple[bytes, int],
    ) -> RevocationStatus:
        body, why = self._get(
            "POST",
            url,
            content=ocsp_request_for(certificate, issuer),
            headers={"Content-Type": "application/ocsp-request"},
        )
        if body is None:
            return RevocationStatus.unknown(why)
        answer = read_ocsp_answer(body, certificate, issuer, at)
        if answer.status.state is not RevocationState.UNKNOWN:
            self._answers[key] = _Cached(
                answer.status, answer.next_update or at + UNDATED_OCSP_CACHE
            )
        return answer.status

    def _crl(self, url: str, at: dt.datetime) -> tuple[x509.CertificateRevocationList | None, str]:
        cached = self._crls.get(url)
        if cached is not None and (cached.next_update_utc or at) >= at:
            return cached, ""
        body, why = self._get("GET", url)
        if body is None:
            return None, why
        try:
            crl = (
                x509.load_pem_x509_crl(body)
                if body.lstrip().startswith(b"-----BEGIN")
                else x509.load_der_x509_crl(body)
            )
        except ValueError:
            return None, "the answer is not a CRL"
        self._crls[url] = crl
        return crl, ""


def offline_revocation_checker(
    certificate: x509.Certificate, issuer: x509.Certificate
) -> RevocationStatus:
    """The checker of ``--offline``: nothing is fetched, so every status is unknown."""
    del issuer
    return RevocationStatus.unknown(
        f"revocation of {describe_name(certificate.subject)} was not checked (offline)"
    )
