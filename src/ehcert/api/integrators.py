"""The integrators' routes over HTTP (acceptance only): enrolment, test identities, test
certificates.

These routes exist on an acceptance platform only: ``api.app`` does not include this
router on production, so there every one of them is 404 ``not-found`` (RFC 9457
problem), as for any path the platform does not serve, not a 403 that would say the
feature is there but closed (``ra.integrators``).

- ``POST /v1/integrator/enrolment``: plain JSON ``cbe``, ``secret`` (the one-time
  enrolment secret) and ``csr``; the answer is the integrator certificate. A company
  has no key of this platform before it, so this one call is not a JWS: the secret is
  the proof, and the CSR's self-signature proves possession of the new key;
- every other route is a signed request (``api.authentication``) whose signer must be
  the integrator's current integrator certificate (the integrator method,
  :meth:`~ehcert.ra.integrators.IntegratorPath.authenticate`):
  ``POST /v1/integrator/test-persons`` (``first_name``, ``last_name``, optional
  ``profession`` and ``ssin``), ``POST /v1/integrator/test-institutions``
  (``institution``, ``name``), ``POST /v1/integrator/test-mandates`` (``institution``,
  ``ssin``), ``POST /v1/integrator/test-identities`` (``{}``: the listing) and
  ``POST /v1/integrator/test-certificates`` (``csr`` and ``ssin``, or ``institution``
  with optional ``application_id`` and the ``mandate_holder``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ehcert.api.authentication import SignedRequests, signed_payload
from ehcert.api.fields import b64url_field, only_fields, text_field
from ehcert.api.openapi import SIGNED_BODY
from ehcert.api.protocol import NonceIssuer, nonce_headers
from ehcert.api.schemas import IssuedAnswer, issued_answer
from ehcert.core.identifiers import InstitutionId
from ehcert.core.identity import Identity
from ehcert.ra.ports import CertificateFacts

ENROLMENT_FIELDS = ("cbe", "secret", "csr")
ENROLMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The integrator's CBE number, its one-time enrolment secret and the "
        "CSR (base64url DER) of its new key.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": list(ENROLMENT_FIELDS),
                    "additionalProperties": False,
                    "properties": {name: {"type": "string"} for name in ENROLMENT_FIELDS},
                }
            }
        },
    }
}


# What the edge reads of the registry's test identities (``store.test_data`` records;
# the edge names no store module).


class OwnedPerson(Protocol):
    @property
    def ssin(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def profession(self) -> str: ...
    @property
    def owner_cbe(self) -> str: ...


class OwnedInstitution(Protocol):
    @property
    def institution(self) -> InstitutionId: ...
    @property
    def name(self) -> str: ...
    @property
    def owner_cbe(self) -> str: ...


class OwnedMandate(Protocol):
    @property
    def institution(self) -> InstitutionId: ...
    @property
    def holder_ssin(self) -> str: ...
    @property
    def owner_cbe(self) -> str: ...
    @property
    def valid_from(self) -> dt.datetime: ...
    @property
    def ended_at(self) -> dt.datetime | None: ...


class OwnedListing(Protocol):
    @property
    def people(self) -> Sequence[OwnedPerson]: ...
    @property
    def institutions(self) -> Sequence[OwnedInstitution]: ...
    @property
    def mandates(self) -> Sequence[OwnedMandate]: ...


class IntegratorOperations(Protocol):
    """``ra.integrators.IntegratorPath``."""

    def enrol(
        self, cbe: str, secret: str, csr_der: bytes, now: dt.datetime
    ) -> CertificateFacts: ...

    def authenticate(self, signed_by: Identity) -> Identity: ...

    def request_test_certificate(
        self,
        identity: Identity,
        csr_der: bytes,
        *,
        ssin: str | None,
        institution: str | None,
        application_id: str | None,
        mandate_holder: str | None,
        now: dt.datetime,
    ) -> CertificateFacts: ...


class OwnedIdentityOperations(Protocol):
    """``registry.test_identities.TestIdentities``."""

    def add_person(
        self,
        identity: Identity,
        *,
        first_name: str,
        last_name: str,
        profession: str = "doctor",
        ssin: str | None = None,
        now: dt.datetime,
    ) -> OwnedPerson: ...

    def add_institution(
        self, identity: Identity, institution: str, name: str, *, now: dt.datetime
    ) -> OwnedInstitution: ...

    def add_mandate(
        self, identity: Identity, institution: str, ssin: str, *, now: dt.datetime
    ) -> OwnedMandate: ...

    def listing(self, identity: Identity, now: dt.datetime) -> OwnedListing: ...


@dataclass(frozen=True, slots=True)
class IntegratorPorts:
    integrators: IntegratorOperations
    test_identities: OwnedIdentityOperations
    signed: SignedRequests
    new_nonce: NonceIssuer
    now: Callable[[], dt.datetime]
    chain: Sequence[x509.Certificate]
    environment: str


class PersonAnswer(BaseModel):
    ssin: str
    first_name: str
    last_name: str
    profession: str
    test_data_of: str


class InstitutionAnswer(BaseModel):
    institution: str
    name: str
    test_data_of: str


class MandateAnswer(BaseModel):
    institution: str
    ssin: str
    valid_from: dt.datetime
    active: bool
    test_data_of: str


class OwnedIdentitiesAnswer(BaseModel):
    integrator: str
    persons: list[PersonAnswer]
    institutions: list[InstitutionAnswer]
    mandates: list[MandateAnswer]


def _person(person: OwnedPerson) -> PersonAnswer:
    return PersonAnswer(
        ssin=person.ssin,
        first_name=person.first_name,
        last_name=person.last_name,
        profession=person.profession,
        test_data_of=person.owner_cbe,
    )


def _institution(institution: OwnedInstitution) -> InstitutionAnswer:
    return InstitutionAnswer(
        institution=str(institution.institution),
        name=institution.name,
        test_data_of=institution.owner_cbe,
    )


def _mandate(mandate: OwnedMandate) -> MandateAnswer:
    return MandateAnswer(
        institution=str(mandate.institution),
        ssin=mandate.holder_ssin,
        valid_from=mandate.valid_from,
        active=mandate.ended_at is None,
        test_data_of=mandate.owner_cbe,
    )


def integrator_router(ports: IntegratorPorts) -> APIRouter:
    router = APIRouter()
    tests = ports.test_identities

    async def integrator(request: Request, *fields: str) -> tuple[Identity, dict[str, Any]]:
        signed_by, payload = await ports.signed(request)
        identity = ports.integrators.authenticate(signed_by)
        request.state.actor = identity.actor
        only_fields(payload, *fields)
        return identity, payload

    @router.post(
        "/v1/integrator/enrolment",
        status_code=201,
        response_model=IssuedAnswer,
        tags=["integrator"],
        openapi_extra=ENROLMENT_BODY,
    )
    async def enrol(request: Request) -> IssuedAnswer:
        """Trade the one-time enrolment secret and a CSR for the integrator certificate.

        Body (JSON, not a JWS): ``cbe``, ``secret``, ``csr`` (base64url DER).
        """
        payload = signed_payload(await request.body())
        only_fields(payload, *ENROLMENT_FIELDS)
        cbe = text_field(payload, "cbe") or ""
        request.state.actor = f"integrator-enrolment:CBE={cbe[:16]}"
        facts = ports.integrators.enrol(
            cbe, text_field(payload, "secret") or "", b64url_field(payload, "csr"), ports.now()
        )
        return issued_answer(facts, ports.chain, ports.environment)

    @router.post(
        "/v1/integrator/test-persons",
        status_code=201,
        response_model=PersonAnswer,
        tags=["integrator"],
        openapi_extra=SIGNED_BODY,
    )
    async def add_test_person(request: Request, response: Response) -> PersonAnswer:
        """A test care provider with an SSIN of the reserved block (validated)."""
        identity, payload = await integrator(
            request, "first_name", "last_name", "profession", "ssin"
        )
        person = tests.add_person(
            identity,
            first_name=text_field(payload, "first_name") or "",
            last_name=text_field(payload, "last_name") or "",
            profession=text_field(payload, "profession", required=False) or "doctor",
            ssin=text_field(payload, "ssin", required=False),
            now=ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        return _person(person)

    @router.post(
        "/v1/integrator/test-institutions",
        status_code=201,
        response_model=InstitutionAnswer,
        tags=["integrator"],
        openapi_extra=SIGNED_BODY,
    )
    async def add_test_institution(request: Request, response: Response) -> InstitutionAnswer:
        """A test institution (``TYPE=ID``), attested from today."""
        identity, payload = await integrator(request, "institution", "name")
        made = tests.add_institution(
            identity,
            text_field(payload, "institution") or "",
            text_field(payload, "name") or "",
            now=ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        return _institution(made)

    @router.post(
        "/v1/integrator/test-mandates",
        status_code=201,
        response_model=MandateAnswer,
        tags=["integrator"],
        openapi_extra=SIGNED_BODY,
    )
    async def add_test_mandate(request: Request, response: Response) -> MandateAnswer:
        """A test mandate: the test person ``ssin`` holds certificates for ``institution``."""
        identity, payload = await integrator(request, "institution", "ssin")
        mandate = tests.add_mandate(
            identity,
            text_field(payload, "institution") or "",
            text_field(payload, "ssin") or "",
            now=ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        return _mandate(mandate)

    @router.post(
        "/v1/integrator/test-identities",
        response_model=OwnedIdentitiesAnswer,
        tags=["integrator"],
        openapi_extra=SIGNED_BODY,
    )
    async def list_test_identities(request: Request, response: Response) -> OwnedIdentitiesAnswer:
        """The integrator's own test identities (nobody else's). Payload: ``{}``."""
        identity, _ = await integrator(request)
        listing = tests.listing(identity, ports.now())
        response.headers.update(nonce_headers(ports.new_nonce))
        return OwnedIdentitiesAnswer(
            integrator=identity.integrator or "",
            persons=[_person(person) for person in listing.people],
            institutions=[_institution(found) for found in listing.institutions],
            mandates=[_mandate(mandate) for mandate in listing.mandates],
        )

    @router.post(
        "/v1/integrator/test-certificates",
        status_code=201,
        response_model=IssuedAnswer,
        tags=["integrator"],
        openapi_extra=SIGNED_BODY,
    )
    async def request_test_certificate(request: Request, response: Response) -> IssuedAnswer:
        """A certificate for one of the integrator's test identities, without an eID."""
        identity, payload = await integrator(
            request, "csr", "ssin", "institution", "application_id", "mandate_holder"
        )
        facts = ports.integrators.request_test_certificate(
            identity,
            b64url_field(payload, "csr"),
            ssin=text_field(payload, "ssin", required=False),
            institution=text_field(payload, "institution", required=False),
            application_id=text_field(payload, "application_id", required=False),
            mandate_holder=text_field(payload, "mandate_holder", required=False),
            now=ports.now(),
        )
        response.headers.update(nonce_headers(ports.new_nonce))
        return issued_answer(facts, ports.chain, ports.environment)

    return router
