"""Software integrators: registered by CBE number and request form, with a one-time
enrolment secret, in acceptance only; the reserved test SSINs stay out of real data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.registry.integrators import IntegratorRegistry, parse_cbe, secret_sha256
from ehcert.registry.service import RegistryService
from ehcert.store.audit import AuditLog, verify_audit_chain
from ehcert.store.db import Database
from ehcert.store.integrators import IntegratorRepository

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
CBE = "0123456749"  # 01234567 mod 97 = 48, 97 - 48 = 49


@pytest.fixture
def integrators(database: Database) -> IntegratorRegistry:
    return IntegratorRegistry(database, "acceptance")


def test_an_integrator_is_registered_with_its_request_form(
    integrators: IntegratorRegistry, database: Database
) -> None:
    record = integrators.add("0123.456.749", " Medisoft NV ", "RF-2026-0042", now=NOW)
    assert (record.cbe, record.name, record.form_reference) == (CBE, "Medisoft NV", "RF-2026-0042")
    assert record.registered_at == NOW
    assert integrators.integrator(CBE) == record
    assert integrators.integrators() == [record]
    with database.session() as session:
        (audit,) = AuditLog(session).records(limit=10)
    assert audit.subject == f"CBE={CBE}"
    assert json.loads(audit.detail)["form_reference"] == "RF-2026-0042"
    with database.session() as session:
        assert verify_audit_chain(session).ok


def test_one_registration_per_company_and_per_form(integrators: IntegratorRegistry) -> None:
    integrators.add(CBE, "Medisoft NV", "RF-1", now=NOW)
    with pytest.raises(EhcertError) as same_company:
        integrators.add(CBE, "Medisoft NV", "RF-2", now=NOW)
    assert (same_company.value.kind, same_company.value.field) == (ErrorKind.CONFLICT, "cbe")
    with pytest.raises(EhcertError) as same_form:
        integrators.add("0202239951", "Other BV", "RF-1", now=NOW)
    assert (same_form.value.kind, same_form.value.field) == (ErrorKind.CONFLICT, "form_reference")
    assert [record.cbe for record in integrators.integrators()] == [CBE]


@pytest.mark.parametrize(
    ("cbe", "name", "form", "field"),
    [
        ("0123456748", "Medisoft NV", "RF-1", "cbe"),  # mod-97
        ("2123456749", "Medisoft NV", "RF-1", "cbe"),  # starts with 2
        ("012345674", "Medisoft NV", "RF-1", "cbe"),
        (CBE, "", "RF-1", "name"),
        (CBE, "Medisoft NV", "RF 1", "form_reference"),
        (CBE, "Medisoft NV", "R" * 65, "form_reference"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(
    integrators: IntegratorRegistry, cbe: str, name: str, form: str, field: str
) -> None:
    with pytest.raises(EhcertError) as refused:
        integrators.add(cbe, name, form, now=NOW)
    assert (refused.value.kind, refused.value.field) == (ErrorKind.MALFORMED, field)


def test_production_has_no_integrators(database: Database) -> None:
    production = IntegratorRegistry(database, "production")
    for call in (
        lambda: production.add(CBE, "Medisoft NV", "RF-1", now=NOW),
        production.integrators,
        lambda: production.integrator(CBE),
    ):
        with pytest.raises(EhcertError) as refused:
            call()
        assert refused.value.kind is ErrorKind.FORBIDDEN
        assert "only in the acceptance environment" in refused.value.detail
    assert IntegratorRegistry(database, "acceptance").integrators() == []


def test_parse_cbe_takes_the_written_forms() -> None:
    assert parse_cbe("BE 0123.456.749") == CBE
    assert parse_cbe("0123 456 749") == CBE
    with pytest.raises(TypeError):
        parse_cbe(123456749)  # type: ignore[arg-type]


def test_an_enrolment_secret_is_kept_as_its_hash_audited_and_replaced_by_a_new_one(
    integrators: IntegratorRegistry, database: Database
) -> None:
    integrators.add(CBE, "Medisoft NV", "RF-1", now=NOW)
    first = integrators.new_enrolment_secret(CBE, now=NOW)
    assert first.expires_at == NOW + dt.timedelta(days=30)
    assert first.secret not in repr(first)
    second = integrators.new_enrolment_secret("0123.456.749", now=NOW)
    assert second.secret != first.secret
    with database.session() as session:
        kept = IntegratorRepository(session).enrolment_secret_sha256(CBE)
        records = AuditLog(session).records(limit=10)
    assert kept == secret_sha256(second.secret)
    assert [json.loads(r.detail)["op"] for r in records].count("integrator-enrolment-secret") == 2
    assert all(first.secret not in r.detail for r in records)
    with pytest.raises(EhcertError) as unknown:
        integrators.new_enrolment_secret("0202239951", now=NOW)
    assert (unknown.value.kind, unknown.value.field) == (ErrorKind.NOT_FOUND, "cbe")
    with pytest.raises(EhcertError, match="only in the acceptance environment"):
        IntegratorRegistry(database, "production").new_enrolment_secret(CBE, now=NOW)


def test_the_authentic_sources_data_never_takes_a_reserved_test_ssin(database: Database) -> None:
    with pytest.raises(EhcertError) as refused:
        RegistryService(database).add_provider(
            "00023000183", None, "doctor", "Real", "Person", now=NOW
        )
    assert (refused.value.kind, refused.value.field) == (ErrorKind.MALFORMED, "ssin")
    assert "reserved for test persons" in refused.value.detail
