"""One set of revocation reasons (ehcert.core.revocation): the RA, the store, the CA and
the Certificate Manager accept and refuse exactly the same RFC 5280 names."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from ehcert.ca.authority import _reason_flag
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identity import admin_identity
from ehcert.core.revocation import (
    ADMINISTRATOR_REASONS,
    HOLDER_REASONS,
    KEY_INTACT_REASONS,
    REVOCATION_REASONS,
    RFC_5280_REASON_CODES,
)
from ehcert.manager.revocation import validate_revocation_reason
from ehcert.manager.web.messages import REASON_LABELS
from ehcert.ra.adapters import Ledger, LedgerRevoker, StoredDigitalKeys
from ehcert.ra.service import RegistrationAuthority
from ehcert.registry.adapter import RegistryFacts
from ehcert.store.certificates import CertificateReader, check_revocation_reason
from ehcert.store.db import Database
from ehcert.store.unit_of_work import HeldBackAudit

from .test_certificates import ISSUED, add, new_certificate


def test_the_reasons_are_rfc_5280_names_and_cryptography_flags() -> None:
    assert set(REVOCATION_REASONS) == set(HOLDER_REASONS) | set(ADMINISTRATOR_REASONS)
    assert set(REVOCATION_REASONS) | KEY_INTACT_REASONS <= set(RFC_5280_REASON_CODES)
    for name in RFC_5280_REASON_CODES:
        assert x509.ReasonFlags(name).value == name
    assert {"certificateHold", "removeFromCRL", "cACompromise"}.isdisjoint(REVOCATION_REASONS)
    assert set(REASON_LABELS) == set(HOLDER_REASONS)


def _accepts(check, reason: str) -> bool:
    try:
        check(reason)
    except (EhcertError, ValueError):
        return False
    return True


@pytest.mark.parametrize("reason", sorted(RFC_5280_REASON_CODES))
def test_store_ca_manager_and_ra_agree(database: Database, reason: str) -> None:
    expected = reason in REVOCATION_REASONS
    assert _accepts(check_revocation_reason, reason) is expected  # the store
    assert _accepts(_reason_flag, reason) is expected  # the CA's CRL and OCSP entries
    assert _accepts(validate_revocation_reason, reason) is expected  # the manager

    serial = "ab01"
    add(database, new_certificate(serial))
    with database.session() as session:
        ra = RegistrationAuthority(
            RegistryFacts(session),
            Ledger(session),
            None,  # type: ignore[arg-type]  # revocation issues nothing
            LedgerRevoker(session),
            HeldBackAudit(session),
            digital_keys=StoredDigitalKeys(session),
        )
        moment = ISSUED + dt.timedelta(days=1)
        if expected:
            facts = ra.revoke(admin_identity("operator"), serial, reason, moment)
            assert facts.status == "revoked"
            record = CertificateReader(session).by_serial(serial)
            assert record is not None and record.revocation_reason == reason
        else:
            with pytest.raises(EhcertError) as refused:
                ra.revoke(admin_identity("operator"), serial, reason, moment)
            assert refused.value.kind is ErrorKind.MALFORMED
            assert refused.value.field == "reason"
            assert refused.value.detail == (
                f"The revocation reason {reason!r} is not accepted; use one of "
                f"{', '.join(REVOCATION_REASONS)}."
            )
