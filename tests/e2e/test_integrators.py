"""Software integrators in acceptance, end to end over real HTTP, on SQLite and PostgreSQL.

An integrator registered by the operator enrols with its one-time secret, gets its
integrator certificate, makes test persons (SSINs of the reserved block), a test
institution and a test mandate, and gets their certificates without an eID; the
keystores then work with the ordinary SDK: an STS token, the ETK lookup, a sealed
message opened by its recipient. One integrator cannot touch another's test identities,
a care provider's certificate is no integrator's, and production has none of the routes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ehcert.client.integrator import IntegratorClient
from ehcert.client.keys import KeyEntryRequestSigner, build_csr, generate_key
from ehcert.client.sts import StsClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.names import parse_ehealth_subject
from ehcert.core.reserved_ssins import is_reserved_test_ssin
from ehcert.manager.integrator import enrol_integrator, integrator_signer, request_test_certificate
from ehcert.manager.messages import seal_for, unseal_file
from ehcert.pki.keystore import read_keystore_file
from ehcert.registry.integrators import IntegratorRegistry

from .conftest import Actors, RunningPlatform

pytestmark = pytest.mark.slow

CBE = "0123456749"
OTHER_CBE = "0202239951"
HOSPITAL = "NIHII-HOSPITAL=71999926"
KEY = "ec-p256"  # quick to make; the integrator path is not RSA-only
ROUTES = (
    "/v1/integrator/enrolment",
    "/v1/integrator/test-persons",
    "/v1/integrator/test-institutions",
    "/v1/integrator/test-mandates",
    "/v1/integrator/test-identities",
    "/v1/integrator/test-certificates",
)


@dataclass
class Integrator:
    env: RunningPlatform
    cbe: str
    keystore: Path
    password: str
    directory: Path

    @property
    def signer(self) -> KeyEntryRequestSigner:
        return integrator_signer(self.keystore, self.password)

    def client(self) -> IntegratorClient:
        return IntegratorClient(self.env.url)

    def keystore_of(self, folder: str, **holder: str) -> Path:
        with self.client() as client:
            return request_test_certificate(
                client,
                self.signer,
                out_dir=self.directory / folder,
                password=self.password,
                now=self.env.clock.now(),
                key_type=KEY,
                **holder,
            )


def _registered(env: RunningPlatform, cbe: str, form: str) -> str:
    registry = IntegratorRegistry(env.platform.database, "acceptance")
    now = env.clock.now()
    registry.add(cbe, f"Software {cbe} NV", form, now=now)
    return registry.new_enrolment_secret(cbe, now=now).secret


def _enrolled(env: RunningPlatform, actors: Actors, cbe: str, form: str) -> Integrator:
    secret = _registered(env, cbe, form)
    directory = actors.directory / cbe
    directory.mkdir()
    with IntegratorClient(env.url) as client:
        keystore = enrol_integrator(
            client,
            cbe,
            secret,
            out_dir=directory,
            password=actors.password,
            now=env.clock.now(),
            key_type=KEY,
        )
    return Integrator(env, cbe, keystore, actors.password, directory)


@pytest.fixture
def integrator(env: RunningPlatform, actors: Actors) -> Integrator:
    return _enrolled(env, actors, CBE, "FORM-2026-0001")


def test_an_integrator_gets_test_identities_their_certificates_a_token_and_a_message(
    integrator: Integrator, actors: Actors
) -> None:
    entry = read_keystore_file(integrator.keystore, integrator.password).authentication()
    assert integrator.keystore.name.endswith(".acc-p12")
    assert parse_ehealth_subject(entry.certificate.subject).holder_text == f"CBE={CBE},INTEGRATOR"

    with integrator.client() as client:
        signer = integrator.signer
        doctor = client.add_test_person(signer, "Test", "Dokter")
        nurse = client.add_test_person(signer, "Test", "Verpleger", profession="nurse")
        client.add_test_institution(signer, HOSPITAL, "Test Ziekenhuis")
        mandate = client.add_test_mandate(signer, HOSPITAL, nurse.ssin)
        listing = client.test_identities(signer)
    for person in (doctor, nurse):
        assert is_reserved_test_ssin(person.ssin), person.ssin
        assert person.test_data_of == CBE
    assert mandate.active and mandate.test_data_of == CBE
    assert {p.ssin for p in listing.persons} == {doctor.ssin, nurse.ssin}
    assert [i.institution for i in listing.institutions] == [HOSPITAL]
    assert [(m.institution, m.ssin) for m in listing.mandates] == [(HOSPITAL, nurse.ssin)]

    doctor_keystore = integrator.keystore_of("doctor", ssin=doctor.ssin)
    nurse_keystore = integrator.keystore_of("nurse", ssin=nurse.ssin)
    hospital_keystore = integrator.keystore_of(
        "hospital", institution=HOSPITAL, application_id="LABGATEWAY", mandate_holder=nurse.ssin
    )
    hospital = read_keystore_file(hospital_keystore, integrator.password).authentication()
    assert parse_ehealth_subject(hospital.certificate.subject).holder_text == (
        f"{HOSPITAL},LABGATEWAY"
    )
    doctor_store = read_keystore_file(doctor_keystore, integrator.password)
    doctor_entry = doctor_store.authentication()
    assert parse_ehealth_subject(doctor_entry.certificate.subject).holder_text == (
        f"SSIN={doctor.ssin}"
    )

    env = integrator.env
    with StsClient(env.url, KeyEntryRequestSigner(doctor_entry), clock=env.clock) as sts:
        token = sts.request_token((), None)
    assert doctor.ssin in {str(attribute.value) for attribute in token.attributes}

    with env.client() as client:
        assert client.etk(f"SSIN={nurse.ssin}").holder == f"SSIN={nurse.ssin}"
        sealed, _ = seal_for(
            client, doctor_store, [f"SSIN={nurse.ssin}"], b"Test referral", now=env.clock.now()
        )
    opened = unseal_file(
        nurse_keystore,
        integrator.password,
        sealed,
        anchors=[env.platform.hierarchy.root.certificate],
        now=env.clock.now(),
    )
    assert opened.content == b"Test referral"

    records = actors.audit_records()
    issued = {
        r.subject: (r.actor, json.loads(r.detail)["method"])
        for r in records
        if r.action == "issued"
    }
    assert issued[f"CBE={CBE},INTEGRATOR"] == (
        f"integrator-enrolment:CBE={CBE}",
        "integrator-enrolment",
    )
    for holder in (f"SSIN={doctor.ssin}", f"SSIN={nurse.ssin}", f"{HOSPITAL},LABGATEWAY"):
        assert issued[holder] == (f"integrator:CBE={CBE}", "integrator")
    made = [json.loads(r.detail)["op"] for r in records if r.action == "test-identity"]
    assert sorted(made) == [
        "add-test-institution", "add-test-mandate", "add-test-person", "add-test-person"
    ]  # fmt: skip


def test_one_integrator_cannot_touch_another_integrators_test_identities(
    env: RunningPlatform, actors: Actors, integrator: Integrator
) -> None:
    with integrator.client() as client:
        person = client.add_test_person(integrator.signer, "Eigen", "Persoon")
        client.add_test_institution(integrator.signer, HOSPITAL, "Test Ziekenhuis")
    other = _enrolled(env, actors, OTHER_CBE, "FORM-2026-0002")
    with other.client() as client:
        signer = other.signer
        assert client.test_identities(signer).persons == ()
        own = client.add_test_person(signer, "Ander", "Persoon")
        with pytest.raises(EhcertError) as mandate:
            client.add_test_mandate(signer, HOSPITAL, own.ssin)
        with pytest.raises(EhcertError) as certificate:
            client.request_test_certificate(signer, build_csr(generate_key(KEY)), ssin=person.ssin)
        with pytest.raises(EhcertError) as real:  # the authentic source's own data
            actors.add_provider()
            client.request_test_certificate(
                signer, build_csr(generate_key(KEY)), ssin=actors.doctor
            )
    assert (mandate.value.kind, mandate.value.field) == (ErrorKind.FORBIDDEN, "institution")
    assert f"not a test institution of integrator CBE {OTHER_CBE}" in mandate.value.detail
    assert (certificate.value.kind, certificate.value.field) == (ErrorKind.FORBIDDEN, "ssin")
    assert (real.value.kind, real.value.field) == (ErrorKind.FORBIDDEN, "ssin")
    refused = [r for r in actors.audit_records() if r.action == "refused"]
    assert {r.actor for r in refused} == {f"integrator:CBE={OTHER_CBE}"}


def test_the_enrolment_secret_serves_once_and_a_wrong_one_says_so(
    env: RunningPlatform, actors: Actors
) -> None:
    secret = _registered(env, CBE, "FORM-2026-0001")
    csr = build_csr(generate_key(KEY))
    with IntegratorClient(env.url) as client:
        with pytest.raises(EhcertError) as wrong:
            client.enrol(CBE, secret[:-2] + "xx", csr)
        assert client.enrol(CBE, secret, csr).holder == f"CBE={CBE},INTEGRATOR"
        with pytest.raises(EhcertError) as spent:
            client.enrol(CBE, secret, build_csr(generate_key(KEY)))
        with pytest.raises(EhcertError) as unknown:
            client.enrol(OTHER_CBE, secret, csr)
    for refusal in (wrong, spent, unknown):
        assert (refusal.value.kind, refusal.value.field) == (ErrorKind.UNAUTHORIZED, "secret")
        assert "wrong, spent or expired" in refusal.value.detail


def test_a_new_enrolment_revokes_the_integrator_certificate_it_replaces(
    env: RunningPlatform, actors: Actors, integrator: Integrator
) -> None:
    """A lost integrator key: a new secret, a new enrolment, and the old key is done."""
    old_signer = integrator.signer
    old_serial = format(old_signer.chain[0].serial_number, "x")
    secret = IntegratorRegistry(env.platform.database, "acceptance").new_enrolment_secret(
        CBE, now=env.clock.now()
    )
    with integrator.client() as client:
        renewed = client.enrol(CBE, secret.secret, build_csr(generate_key(KEY)))
        with pytest.raises(EhcertError) as refused:
            client.add_test_person(old_signer, "Test", "Persoon")
    assert refused.value.kind is ErrorKind.REVOKED
    assert actors.certificate_record(old_serial).revocation_reason == "superseded"
    assert actors.certificate_record(renewed.serial).status == "valid"


def test_a_care_providers_certificate_is_no_integrators(actors: Actors) -> None:
    actors.add_provider()
    keystore = actors.pooled_keystore(actors.eid(), 0, "doctor")
    entry = read_keystore_file(keystore, actors.password).authentication()
    with IntegratorClient(actors.env.url) as client, pytest.raises(EhcertError) as refused:
        client.add_test_person(KeyEntryRequestSigner(entry), "Test", "Persoon")
    assert refused.value.kind is ErrorKind.UNAUTHORIZED
    assert "integrator certificate of a registered integrator" in refused.value.detail


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"ssin": "79021802145"}, "ssin", "outside the block reserved for test persons"),
        ({"ssin": "79023002146"}, "ssin", "fails the mod-97 check"),
        ({"profession": "wizard"}, "profession", "wizard"),
        ({"first_name": " "}, "first_name", "first name"),
    ],
)
def test_bad_test_person_input_names_the_field(
    integrator: Integrator, fields: dict[str, str], field: str, says: str
) -> None:
    values = {"first_name": "Test", "last_name": "Persoon", "profession": "doctor", **fields}
    with integrator.client() as client, pytest.raises(EhcertError) as refused:
        client.add_test_person(
            integrator.signer,
            values["first_name"],
            values["last_name"],
            profession=values["profession"],
            ssin=values.get("ssin"),
        )
    assert (refused.value.kind, refused.value.field) == (ErrorKind.MALFORMED, field)
    assert says in refused.value.detail


def test_an_institution_certificate_needs_the_test_mandate_holder(integrator: Integrator) -> None:
    with integrator.client() as client:
        signer = integrator.signer
        person = client.add_test_person(signer, "Zonder", "Mandaat")
        client.add_test_institution(signer, HOSPITAL, "Test Ziekenhuis")
        csr = build_csr(generate_key(KEY))
        with pytest.raises(EhcertError) as unnamed:
            client.request_test_certificate(signer, csr, institution=HOSPITAL)
        with pytest.raises(EhcertError) as unmandated:
            client.request_test_certificate(
                signer, csr, institution=HOSPITAL, mandate_holder=person.ssin
            )
    assert (unnamed.value.kind, unnamed.value.field) == (ErrorKind.MALFORMED, "mandate_holder")
    assert (unmandated.value.kind, unmandated.value.field) == (
        ErrorKind.NO_MANDATE,
        "mandate_holder",
    )


def test_production_has_no_integrator_routes(production: RunningPlatform) -> None:
    """Not 403: the routes do not exist there, so each is the 404 of any unknown path."""
    for route in ROUTES:
        answer = httpx.post(production.url + route, content=b"{}")
        assert answer.status_code == 404, route
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"].endswith(":not-found")
    with IntegratorClient(production.url) as client, pytest.raises(EhcertError) as refused:
        client.enrol(CBE, "secret", b"csr")
    assert refused.value.kind is ErrorKind.NOT_FOUND
    openapi = httpx.get(production.url + "/openapi.json").json()
    assert not [path for path in openapi["paths"] if path.startswith("/v1/integrator")]
