"""The registry service: validation naming the field, conflicts, withdrawal, mandates, audit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId, Profession, cbe_check_is_valid
from ehcert.registry.service import RegistryService
from ehcert.store.audit import AuditLog, verify_audit_chain
from ehcert.store.db import Database
from ehcert.store.providers import ProviderStatus
from ehcert.store.testing import example_ssin

T0 = dt.datetime(2031, 2, 3, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ALICE = "79021802145"  # a valid SSIN (pre-2000 rule)
BOB = example_ssin(1)
# Examples only validate input, write nothing; the fixture need not be reset per example.
FIXTURE_PER_TEST = HealthCheck.function_scoped_fixture
HOSPITAL = InstitutionId("NIHII-HOSPITAL", "71000436")
PHARMACY = InstitutionId("NIHII-PHARMACY", "12345678")


@pytest.fixture
def registry(database: Database) -> RegistryService:
    return RegistryService(database)


def audit_trail(database: Database) -> list[dict[str, object]]:
    with database.session() as session:
        assert verify_audit_chain(session).ok
        return [
            {"action": record.action, "subject": record.subject, **json.loads(record.detail)}
            for record in AuditLog(session).records()
        ]


def refusal(call: object, *args: object, **kwargs: object) -> EhcertError:
    assert callable(call)
    with pytest.raises(EhcertError) as raised:
        call(*args, **kwargs)
    return raised.value


# -- providers -------------------------------------------------------------------------


def test_a_provider_is_added_read_back_and_audited(
    registry: RegistryService, database: Database
) -> None:
    added = registry.add_provider(ALICE, "10012345001", "Doctor", " Alice ", "Peeters", now=T0)
    assert added.first_name == "Alice"
    assert added.profession is Profession.DOCTOR
    assert added.status is ProviderStatus.VALIDATED
    assert registry.get_provider(ALICE) == added
    assert audit_trail(database) == [
        {
            "action": "registry",
            "subject": f"SSIN={ALICE}",
            "op": "add-provider",
            "status": "validated",
        }
    ]


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        ((ALICE[:-1] + "0", None, "doctor", "A", "P"), "ssin", "mod-97"),
        (("7902180214", None, "doctor", "A", "P"), "ssin", "11 digits"),
        ((ALICE, "1001234500X", "doctor", "A", "P"), "nihii", "11 digits"),
        ((ALICE, None, "astronaut", "A", "P"), "profession", "not known"),
        ((ALICE, None, "doctor", "  ", "P"), "first_name", "must not be empty"),
        ((ALICE, None, "doctor", "A", "x" * 101), "last_name", "at most 100"),
        ((ALICE, None, "doctor", "A\x00", "P"), "first_name", "control characters"),
    ],
)
def test_validation_errors_name_the_field(
    registry: RegistryService,
    database: Database,
    arguments: tuple[str, str | None, str, str, str],
    field: str,
    words: str,
) -> None:
    error = refusal(registry.add_provider, *arguments, now=T0)
    assert error.kind is ErrorKind.MALFORMED
    assert error.field == field
    assert words in error.detail
    assert error.detail.endswith(".")
    assert registry.find_provider(ALICE) is None
    assert audit_trail(database) == []


def test_an_unknown_status_is_malformed(registry: RegistryService) -> None:
    error = refusal(registry.add_provider, ALICE, None, "nurse", "A", "P", status="x", now=T0)
    assert (error.kind, error.field) == (ErrorKind.MALFORMED, "status")


def test_duplicate_ssin_and_nihii_are_conflicts(
    registry: RegistryService, database: Database
) -> None:
    registry.add_provider(ALICE, "10012345001", "doctor", "Alice", "Peeters", now=T0)
    again = refusal(registry.add_provider, ALICE, None, "nurse", "Alice", "P", now=T0)
    assert (again.kind, again.field) == (ErrorKind.CONFLICT, "ssin")
    taken = refusal(registry.add_provider, BOB, "10012345001", "nurse", "Bob", "M", now=T0)
    assert (taken.kind, taken.field) == (ErrorKind.CONFLICT, "nihii")
    assert registry.find_provider(BOB) is None
    assert len(audit_trail(database)) == 1  # refused writes leave no audit record


def test_update_changes_only_the_given_fields(
    registry: RegistryService, database: Database
) -> None:
    registry.add_provider(ALICE, "10012345001", "doctor", "Alice", "Peeters", now=T0)
    updated = registry.update_provider(ALICE, last_name="Janssens", nihii=None, now=T0 + DAY)
    assert (updated.first_name, updated.last_name, updated.nihii) == ("Alice", "Janssens", None)
    assert updated.created_at == T0 and updated.updated_at == T0 + DAY
    assert registry.update_provider(ALICE, now=T0 + 2 * DAY) == updated  # nothing to change
    missing = refusal(registry.update_provider, BOB, last_name="X", now=T0)
    assert (missing.kind, missing.field) == (ErrorKind.NOT_FOUND, "ssin")
    bad = refusal(registry.update_provider, ALICE, profession="wizard", now=T0)
    assert (bad.kind, bad.field) == (ErrorKind.MALFORMED, "profession")
    assert audit_trail(database)[-1]["fields"] == ["last_name", "nihii"]


def test_withdrawal_is_recorded_and_visible(registry: RegistryService, database: Database) -> None:
    registry.add_provider(ALICE, None, "nurse", "Alice", "Peeters", now=T0)
    withdrawn = registry.withdraw_provider(ALICE, T0 + DAY)
    assert withdrawn.is_withdrawn
    assert withdrawn.withdrawn_at == T0 + DAY
    assert registry.get_provider(ALICE).status is ProviderStatus.WITHDRAWN
    again = refusal(registry.withdraw_provider, ALICE, T0 + 2 * DAY)
    assert again.kind is ErrorKind.CONFLICT
    assert (T0 + DAY).isoformat() in again.detail
    reinstated = registry.update_provider(ALICE, status="validated", now=T0 + 3 * DAY)
    assert reinstated.withdrawn_at is None and not reinstated.is_withdrawn
    unknown = refusal(registry.withdraw_provider, BOB, T0)
    assert unknown.kind is ErrorKind.NOT_FOUND
    assert [entry["op"] for entry in audit_trail(database)] == [
        "add-provider",
        "withdraw-provider",
        "update-provider",
    ]


def test_an_unknown_provider_is_not_found(registry: RegistryService) -> None:
    error = refusal(registry.get_provider, ALICE)
    assert (error.kind, error.field) == (ErrorKind.NOT_FOUND, "ssin")
    assert registry.find_provider(ALICE) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[FIXTURE_PER_TEST])
@given(base=st.integers(min_value=0, max_value=999_999_999), check=st.integers(0, 99))
def test_any_ssin_failing_the_check_or_its_date_is_refused_on_the_ssin_field(
    registry: RegistryService, base: int, check: int
) -> None:
    valid_checks = {97 - base % 97, 97 - (2_000_000_000 + base) % 97}
    ssin = f"{base:09d}{check:02d}"
    month, day = int(ssin[2:4]), int(ssin[4:6])
    # A birth month (00-12), or one of a BIS number (+20 or +40), and a day up to 31.
    dated = any(offset <= month <= offset + 12 for offset in (0, 20, 40)) and day <= 31
    if check in valid_checks and dated:
        assert registry.find_provider(ssin) is None  # accepted as an SSIN, simply unknown
        return
    error = refusal(registry.add_provider, ssin, None, "doctor", "A", "B", now=T0)
    assert (error.kind, error.field) == (ErrorKind.MALFORMED, "ssin")


# -- institutions ----------------------------------------------------------------------


def test_institutions_are_added_updated_and_unique(
    registry: RegistryService, database: Database
) -> None:
    added = registry.add_institution(
        HOSPITAL, "AZ Example", dt.date(2030, 12, 1), "deliberation 24/001", now=T0
    )
    assert registry.get_institution("NIHII-HOSPITAL=71000436") == added
    updated = registry.update_institution(
        HOSPITAL, data_sharing_authorisation=None, name="AZ Example Gent", now=T0 + DAY
    )
    assert updated.name == "AZ Example Gent"
    assert updated.data_sharing_authorisation is None
    assert updated.security_norms_date == dt.date(2030, 12, 1)
    duplicate = refusal(registry.add_institution, HOSPITAL, "Again", now=T0)
    assert (duplicate.kind, duplicate.field) == (ErrorKind.CONFLICT, "institution")
    missing = refusal(registry.update_institution, PHARMACY, name="X", now=T0)
    assert (missing.kind, missing.field) == (ErrorKind.NOT_FOUND, "institution")
    empty_name = refusal(registry.add_institution, PHARMACY, " ", now=T0)
    assert (empty_name.kind, empty_name.field) == (ErrorKind.MALFORMED, "name")
    assert [entry["op"] for entry in audit_trail(database)] == [
        "add-institution",
        "update-institution",
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[FIXTURE_PER_TEST])
@given(number=st.integers(min_value=0, max_value=1_999_999_999))
def test_cbe_numbers_failing_the_check_are_refused(registry: RegistryService, number: int) -> None:
    cbe = f"{number:010d}"
    if cbe_check_is_valid(cbe):
        assert registry.find_institution(InstitutionId("CBE", cbe)) is None
        return
    error = refusal(registry.add_institution, f"CBE={cbe}", "Some company", now=T0)
    assert (error.kind, error.field) == (ErrorKind.MALFORMED, "institution")
    assert "mod-97" in error.detail


def test_an_unparseable_institution_is_malformed(registry: RegistryService) -> None:
    error = refusal(registry.get_institution, "HOSPITAL-71000436")
    assert (error.kind, error.field) == (ErrorKind.MALFORMED, "institution")


# -- mandates --------------------------------------------------------------------------


def test_mandates_for_several_institutions(registry: RegistryService, database: Database) -> None:
    registry.add_institution(HOSPITAL, "AZ Example", now=T0)
    registry.add_institution(PHARMACY, "Pharmacy Example", now=T0)
    registry.add_mandate(HOSPITAL, ALICE, T0, None, now=T0)
    registry.add_mandate(PHARMACY, ALICE, T0 + DAY, T0 + 30 * DAY, now=T0)
    registry.add_mandate(PHARMACY, BOB, T0, None, now=T0)

    def active(at: dt.datetime) -> list[str]:
        return [str(record.institution) for record in registry.active_mandates_for(ALICE, at)]

    assert active(T0 - DAY) == []
    assert active(T0) == [str(HOSPITAL)]
    assert active(T0 + 2 * DAY) == [str(HOSPITAL), str(PHARMACY)]
    assert active(T0 + 30 * DAY) == [str(HOSPITAL)]  # valid_until is exclusive
    assert registry.mandate_holder_is_active(PHARMACY, ALICE, T0 + 2 * DAY)
    assert not registry.mandate_holder_is_active(PHARMACY, ALICE, T0 + 31 * DAY)
    assert [entry["op"] for entry in audit_trail(database)][-3:] == ["add-mandate"] * 3


def test_ending_a_mandate_takes_effect_at_its_time(registry: RegistryService) -> None:
    registry.add_institution(HOSPITAL, "AZ Example", now=T0)
    registry.add_mandate(HOSPITAL, ALICE, T0, None, now=T0)
    ended = registry.end_mandate(HOSPITAL, ALICE, T0 + 10 * DAY)
    assert ended.ended_at == T0 + 10 * DAY
    assert registry.mandate_holder_is_active(HOSPITAL, ALICE, T0 + 9 * DAY)
    assert not registry.mandate_holder_is_active(HOSPITAL, ALICE, T0 + 10 * DAY)
    again = refusal(registry.end_mandate, HOSPITAL, ALICE, T0 + 11 * DAY)
    assert (again.kind, again.field) == (ErrorKind.NOT_FOUND, "holder_ssin")
    history = registry.mandates_of(HOSPITAL, ALICE)
    assert [(mandate.valid_from, mandate.ended_at) for mandate in history] == [(T0, T0 + 10 * DAY)]
    # After the end, a new mandate may be given.
    registry.add_mandate(HOSPITAL, ALICE, T0 + 20 * DAY, None, now=T0 + 20 * DAY)
    assert registry.mandate_holder_is_active(HOSPITAL, ALICE, T0 + 21 * DAY)


def test_one_open_mandate_per_institution_and_person(registry: RegistryService) -> None:
    registry.add_institution(HOSPITAL, "AZ Example", now=T0)
    registry.add_mandate(HOSPITAL, ALICE, T0, T0 + 5 * DAY, now=T0)
    open_one = refusal(registry.add_mandate, HOSPITAL, ALICE, T0 + DAY, None, now=T0 + DAY)
    assert (open_one.kind, open_one.field) == (ErrorKind.CONFLICT, "holder_ssin")
    # Once the open mandate has run out, it is closed at its end and a new one is accepted.
    renewed = registry.add_mandate(HOSPITAL, ALICE, T0 + 6 * DAY, None, now=T0 + 6 * DAY)
    assert renewed.ended_at is None
    history = registry.mandates_of(HOSPITAL, ALICE)
    assert [mandate.ended_at for mandate in history] == [None, T0 + 5 * DAY]


def test_mandate_refusals(registry: RegistryService) -> None:
    unknown = refusal(registry.add_mandate, HOSPITAL, ALICE, T0, None, now=T0)
    assert (unknown.kind, unknown.field) == (ErrorKind.NOT_FOUND, "institution")
    registry.add_institution(HOSPITAL, "AZ Example", now=T0)
    backwards = refusal(registry.add_mandate, HOSPITAL, ALICE, T0, T0 - DAY, now=T0)
    assert (backwards.kind, backwards.field) == (ErrorKind.MALFORMED, "valid_until")
    bad_holder = refusal(registry.add_mandate, HOSPITAL, "12345678901", T0, None, now=T0)
    assert (bad_holder.kind, bad_holder.field) == (ErrorKind.MALFORMED, "holder_ssin")
    no_institution = refusal(registry.end_mandate, PHARMACY, ALICE, T0)
    assert (no_institution.kind, no_institution.field) == (ErrorKind.NOT_FOUND, "institution")
