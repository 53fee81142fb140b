"""Attribute resolution: values from the registry facts, false or absent when not held,
a clear refusal for unknown designators, and the token request's validation."""

from __future__ import annotations

import datetime as dt

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, InstitutionId
from ehcert.registry.facts import InstitutionFacts, ProviderFacts
from ehcert.sts.attributes import (
    CATALOGUE,
    CERTIFIED_NAMESPACE,
    IDENTIFICATION_NAMESPACE,
    HolderFacts,
)
from ehcert.sts.service import parse_token_request

DOCTOR_SSIN = "79021802145"
DOCTOR_NIHII = "10203040506"
HOSPITAL = InstitutionId("NIHII-HOSPITAL", "71000436")

DOCTOR_BOOL = "urn:be:fgov:person:ssin:doctor:boolean"
NURSE_BOOL = "urn:be:fgov:person:ssin:nurse:boolean"
DOCTOR_NIHII11 = "urn:be:fgov:person:ssin:ehealth:1.0:doctor:nihii11"
HOSPITAL_NUMBER = "urn:be:fgov:ehealth:1.0:hospital:nihii-number"
HOSPITAL_RECOGNISED = "urn:be:fgov:ehealth:1.0:hospital:nihii-number:recognisedhospital:boolean"


def _doctor(status: str = "validated", profession: str = "doctor") -> HolderFacts:
    provider = ProviderFacts(
        DOCTOR_SSIN, "Bryan", "Brouckaert", profession, status, nihii=DOCTOR_NIHII
    )
    return HolderFacts(Holder("SSIN", DOCTOR_SSIN), provider=provider)


def _hospital() -> HolderFacts:
    facts = InstitutionFacts(HOSPITAL, "AZ Sint-Jan Brugge", dt.date(2026, 1, 1), "ok")
    return HolderFacts(Holder(HOSPITAL.type, HOSPITAL.value), institution=facts)


def _values(names: list[str], facts: HolderFacts) -> dict[str, str | bool]:
    granted = CATALOGUE.resolve([CATALOGUE.designator(n) for n in names], facts)
    return {g.designator.name: g.value for g in granted}


def test_a_doctor_gets_identity_profession_and_nihii() -> None:
    values = _values(
        [
            "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin",
            "urn:be:fgov:person:ssin",
            DOCTOR_BOOL,
            NURSE_BOOL,
            DOCTOR_NIHII11,
            "urn:be:fgov:person:ssin:ehealth:1.0:nihii:doctor:nihii11",
            "urn:be:fgov:person:ssin:ehealth:1.0:givenname",
            "urn:be:fgov:person:ssin:ehealth:1.0:surname",
        ],
        _doctor(),
    )
    assert values == {
        "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin": DOCTOR_SSIN,
        "urn:be:fgov:person:ssin": DOCTOR_SSIN,
        DOCTOR_BOOL: True,
        NURSE_BOOL: False,
        DOCTOR_NIHII11: DOCTOR_NIHII,
        "urn:be:fgov:person:ssin:ehealth:1.0:nihii:doctor:nihii11": DOCTOR_NIHII,
        "urn:be:fgov:person:ssin:ehealth:1.0:givenname": "Bryan",
        "urn:be:fgov:person:ssin:ehealth:1.0:surname": "Brouckaert",
    }


def test_what_the_holder_lacks_is_false_or_absent() -> None:
    nurse = _values(
        [DOCTOR_BOOL, NURSE_BOOL, DOCTOR_NIHII11, HOSPITAL_NUMBER], _doctor(profession="nurse")
    )
    assert nurse == {DOCTOR_BOOL: False, NURSE_BOOL: True}
    hospital = _values([DOCTOR_BOOL, "urn:be:fgov:person:ssin", HOSPITAL_NUMBER], _hospital())
    assert hospital == {DOCTOR_BOOL: False, HOSPITAL_NUMBER: HOSPITAL.value}


def test_a_pending_provider_is_certified_in_no_profession() -> None:
    values = _values(["urn:be:fgov:person:ssin", DOCTOR_BOOL, DOCTOR_NIHII11], _doctor("pending"))
    assert values == {"urn:be:fgov:person:ssin": DOCTOR_SSIN, DOCTOR_BOOL: False}


def test_a_hospital_gets_its_number_and_recognition() -> None:
    values = _values(
        [
            "urn:be:fgov:ehealth:1.0:certificateholder:hospital:nihii-number",
            HOSPITAL_NUMBER,
            HOSPITAL_RECOGNISED,
            "urn:be:fgov:ehealth:1.0:pharmacy:nihii-number:recognisedpharmacy:boolean",
        ],
        _hospital(),
    )
    assert values == {
        "urn:be:fgov:ehealth:1.0:certificateholder:hospital:nihii-number": "71000436",
        HOSPITAL_NUMBER: "71000436",
        HOSPITAL_RECOGNISED: True,
        "urn:be:fgov:ehealth:1.0:pharmacy:nihii-number:recognisedpharmacy:boolean": False,
    }


def test_namespaces_follow_ehealth() -> None:
    assert CATALOGUE.designator("urn:be:fgov:person:ssin").namespace == IDENTIFICATION_NAMESPACE
    assert CATALOGUE.designator(DOCTOR_BOOL).namespace == CERTIFIED_NAMESPACE
    assert CATALOGUE.designator(HOSPITAL_RECOGNISED).namespace == CERTIFIED_NAMESPACE


def test_an_unknown_designator_is_refused_by_name() -> None:
    with pytest.raises(EhcertError) as refused:
        CATALOGUE.designator("urn:be:fgov:person:ssin:wizard:boolean")
    assert refused.value.kind is ErrorKind.MALFORMED
    assert "urn:be:fgov:person:ssin:wizard:boolean" in refused.value.detail
    with pytest.raises(EhcertError, match="is in the namespace urn:be:fgov:certified"):
        CATALOGUE.designator(DOCTOR_BOOL, IDENTIFICATION_NAMESPACE)


def test_request_parsing_accepts_names_objects_and_dedupes() -> None:
    request = parse_token_request(
        {
            "attributes": [
                DOCTOR_BOOL,
                {"name": DOCTOR_BOOL, "namespace": CERTIFIED_NAMESPACE},
                {"name": "urn:be:fgov:person:ssin"},
            ],
            "validity_hours": 8,
        },
        max_validity_hours=24,
    )
    assert [d.name for d in request.designators] == [DOCTOR_BOOL, "urn:be:fgov:person:ssin"]
    assert request.validity == dt.timedelta(hours=8)
    assert parse_token_request({}, max_validity_hours=24).designators == ()


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"validity_hours": 25}, "validity_hours", "at most 24 hours"),
        ({"validity_hours": True}, "validity_hours", "whole number"),
        ({"validity_hours": 0}, "validity_hours", "at least 1"),
        ({"attributes": "urn:be:fgov:person:ssin"}, "attributes", "must be a list"),
        ({"attributes": [42]}, "attributes", "a name, or an object"),
        ({"attributes": ["urn:be:fgov:person:ssin"] * 65}, "attributes", "at most 64"),
        ({"ssin": DOCTOR_SSIN}, "ssin", "has no field ssin"),
    ],
)
def test_request_parsing_refusals(payload: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(EhcertError) as refused:
        parse_token_request(payload, max_validity_hours=24)
    assert refused.value.kind is ErrorKind.MALFORMED
    assert refused.value.field == field
    assert words in refused.value.detail


@pytest.mark.parametrize(
    ("institution_type", "number", "identifier"),
    [
        ("CBE", "0123456749", "urn:be:fgov:ehealth:1.0:enterprise:cbe-number"),
        ("EHP", "1990001916", "urn:be:fgov:ehealth:1.0:ehp:ehp-number"),
        ("NIHII-PHARMACY", "71000436", "urn:be:fgov:ehealth:1.0:pharmacy:nihii-number"),
        ("NIHII-GROUPOFNURSES", "71000436", "urn:be:fgov:ehealth:1.0:groupofnurses:nihii-number"),
    ],
)
def test_each_institution_type_is_identified(
    institution_type: str, number: str, identifier: str
) -> None:
    holder = Holder(institution_type, number)
    granted = CATALOGUE.resolve(CATALOGUE.identification_of(holder), HolderFacts(holder))
    names = {g.designator.name: g.value for g in granted}
    assert names == {
        identifier.replace("1.0:", "1.0:certificateholder:"): number,
        identifier: number,
    }
