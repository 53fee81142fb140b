"""A software integrator's calls to an acceptance platform (docs/integrator-guide.md).

An integrator enrols once, trading the one-time enrolment secret the operator gave it
and a CSR for its integrator certificate (:meth:`IntegratorClient.enrol`; plain JSON,
since it has no key of the platform yet). Every other call is a signed request made
with that certificate's key (a :class:`~ehcert.client.keys.KeyEntryRequestSigner` over
the integrator keystore): test persons with SSINs of the reserved block (born on 30 or
31 February, which no register gives), test institutions, test mandates, the listing
of its own test identities, and certificates for them without an eID
(:meth:`IntegratorClient.request_test_certificate`; the keystore-writing flow around
it, with the encryption key and its ETK, is ``ehcert.manager.integrator``).

A production platform has none of these routes: each call there raises the platform's
``not-found`` problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from ehcert.client.answers import Answer, read_issued
from ehcert.client.keys import RequestSigner
from ehcert.client.platform import PlatformClient
from ehcert.client.results import IssuedCertificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import b64url_encode


@dataclass(frozen=True, slots=True)
class TestPerson:
    """A test care provider the integrator owns."""

    __test__ = False  # a name of the domain, not a test class

    ssin: str
    first_name: str
    last_name: str
    profession: str
    test_data_of: str  # the integrator's CBE number


@dataclass(frozen=True, slots=True)
class TestInstitution:
    __test__ = False

    institution: str  # TYPE=ID
    name: str
    test_data_of: str


@dataclass(frozen=True, slots=True)
class TestMandate:
    __test__ = False

    institution: str
    ssin: str
    valid_from: dt.datetime
    active: bool
    test_data_of: str


@dataclass(frozen=True, slots=True)
class TestIdentities:
    """Everything the integrator owns, and nothing of anyone else."""

    __test__ = False

    integrator: str
    persons: tuple[TestPerson, ...]
    institutions: tuple[TestInstitution, ...]
    mandates: tuple[TestMandate, ...]


@dataclass(frozen=True, slots=True)
class IntegratorRequest:
    """Who a test certificate is for, asked with the integrator's signer instead of an
    eID: a test person (``ssin``), or a test institution (the ``institution`` argument
    of the request) for its test mandate holder ``mandate_holder``."""

    signer: RequestSigner
    ssin: str | None = None
    mandate_holder: str | None = None

    def __repr__(self) -> str:
        return f"IntegratorRequest(ssin={self.ssin!r}, mandate_holder={self.mandate_holder!r})"


@contextmanager
def _acceptance_only(base_url: str, path: str) -> Iterator[None]:
    """A 404 on an integrator route means a platform without integrators: say so."""
    try:
        yield
    except EhcertError as error:
        if error.kind is not ErrorKind.NOT_FOUND or not path.startswith("/v1/integrator/"):
            raise
        if error.field is not None:  # a test identity not found names its field; a route none
            raise
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"The platform at {base_url} has no integrator routes: integrators and test "
            "identities exist only on an acceptance platform, and production has no such "
            "path.",
        ) from error


def _person(answer: Answer) -> TestPerson:
    return TestPerson(
        answer.text("ssin"),
        answer.text("first_name"),
        answer.text("last_name"),
        answer.text("profession"),
        answer.text("test_data_of"),
    )


def _institution(answer: Answer) -> TestInstitution:
    return TestInstitution(
        answer.text("institution"), answer.text("name"), answer.text("test_data_of")
    )


def _mandate(answer: Answer) -> TestMandate:
    return TestMandate(
        answer.text("institution"),
        answer.text("ssin"),
        answer.moment("valid_from"),
        answer.flag("active"),
        answer.text("test_data_of"),
    )


class IntegratorClient(PlatformClient):
    """:class:`PlatformClient` with the integrator's calls (acceptance only)."""

    def _post_signed(
        self, path: str, payload: Mapping[str, object], signer: RequestSigner, what: str
    ) -> Answer:
        with _acceptance_only(self.base_url, path):
            return super()._post_signed(path, payload, signer, what)

    def _post_json(self, path: str, body: Mapping[str, object], what: str) -> Answer:
        with _acceptance_only(self.base_url, path):
            return super()._post_json(path, body, what)

    def enrol(self, cbe: str, secret: str, csr_der: bytes) -> IssuedCertificate:
        """``POST /v1/integrator/enrolment``: the integrator certificate, for the
        one-time enrolment secret; the secret is spent."""
        body = {"cbe": cbe, "secret": secret, "csr": b64url_encode(csr_der)}
        return read_issued(self._post_json("/v1/integrator/enrolment", body, "an enrolment"))

    def add_test_person(
        self,
        signer: RequestSigner,
        first_name: str,
        last_name: str,
        *,
        profession: str = "doctor",
        ssin: str | None = None,
    ) -> TestPerson:
        """``POST /v1/integrator/test-persons``; without ``ssin`` the platform picks a
        free one of the reserved block."""
        payload: dict[str, object] = {
            "first_name": first_name,
            "last_name": last_name,
            "profession": profession,
        }
        if ssin is not None:
            payload["ssin"] = ssin
        answer = self._post_signed("/v1/integrator/test-persons", payload, signer, "a test person")
        return _person(answer)

    def add_test_institution(
        self, signer: RequestSigner, institution: str, name: str
    ) -> TestInstitution:
        """``POST /v1/integrator/test-institutions`` (``institution`` is ``TYPE=ID``)."""
        payload = {"institution": institution, "name": name}
        answer = self._post_signed(
            "/v1/integrator/test-institutions", payload, signer, "a test institution"
        )
        return _institution(answer)

    def add_test_mandate(self, signer: RequestSigner, institution: str, ssin: str) -> TestMandate:
        """``POST /v1/integrator/test-mandates``: ``ssin`` holds certificates for it."""
        payload = {"institution": institution, "ssin": ssin}
        answer = self._post_signed(
            "/v1/integrator/test-mandates", payload, signer, "a test mandate"
        )
        return _mandate(answer)

    def test_identities(self, signer: RequestSigner) -> TestIdentities:
        """``POST /v1/integrator/test-identities``: the integrator's own."""
        answer = self._post_signed(
            "/v1/integrator/test-identities", {}, signer, "a test identity listing"
        )
        return TestIdentities(
            answer.text("integrator"),
            tuple(_person(item) for item in answer.objects("persons")),
            tuple(_institution(item) for item in answer.objects("institutions")),
            tuple(_mandate(item) for item in answer.objects("mandates")),
        )

    def request_test_certificate(
        self,
        signer: RequestSigner,
        csr_der: bytes,
        *,
        ssin: str | None = None,
        institution: str | None = None,
        application_id: str | None = None,
        mandate_holder: str | None = None,
    ) -> IssuedCertificate:
        """``POST /v1/integrator/test-certificates``: a certificate for a test person
        (``ssin``) or a test institution (``institution``, optional ``application_id``,
        and the test person holding its test mandate, ``mandate_holder``)."""
        payload: dict[str, object] = {"csr": b64url_encode(csr_der)}
        for name, value in (
            ("ssin", ssin),
            ("institution", institution),
            ("application_id", application_id),
            ("mandate_holder", mandate_holder),
        ):
            if value is not None:
                payload[name] = value
        answer = self._post_signed(
            "/v1/integrator/test-certificates", payload, signer, "a test certificate request"
        )
        return read_issued(answer)
