"""Revoking a certificate: with its keystore, or when the keystore is lost, with the
holder's eID or digital key (the hybrid method)."""

from __future__ import annotations

from pathlib import Path

from ehcert.client.eid import EidCredential
from ehcert.client.keys import (
    EidRequestSigner,
    KeyEntryRequestSigner,
)
from ehcert.client.platform import DigitalKeyLogin, PlatformClient, normalise_serial, serial_of
from ehcert.client.results import CertificateStatus
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.revocation import canonical_revocation_reason
from ehcert.manager.keystore_steps import open_keystore


def validate_revocation_reason(reason: str) -> str:
    """The RFC 5280 reason name for ``reason`` (any letter case), or a refusal listing them."""
    return canonical_revocation_reason(reason)


def revoke_certificate(
    client: PlatformClient, keystore_path: Path, password: str, reason: str
) -> CertificateStatus:
    """Revoke the keystore's own certificate, signing with its authentication key."""
    canonical = validate_revocation_reason(reason)
    _, current = open_keystore(keystore_path, password)
    return client.revoke(KeyEntryRequestSigner(current), serial_of(current.certificate), canonical)


def revoke_with_eid(
    client: PlatformClient, credential: EidCredential, serial: str, reason: str
) -> CertificateStatus:
    """Revoke certificate ``serial`` proving identity with the eID (the keystore is lost)."""
    canonical = validate_revocation_reason(reason)
    try:
        serial_hex = normalise_serial(serial)
    except ValueError as exc:
        raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="serial") from None
    return client.revoke(EidRequestSigner(credential), serial_hex, canonical)


def revoke_with_digital_key(
    client: PlatformClient, login: DigitalKeyLogin, serial: str, reason: str
) -> CertificateStatus:
    """Revoke certificate ``serial`` proving identity with a digital key (the keystore is
    lost; the hybrid method)."""
    canonical = validate_revocation_reason(reason)
    try:
        serial_hex = normalise_serial(serial)
    except ValueError as exc:
        raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="serial") from None
    return client.revoke_with_digital_key(login, serial_hex, canonical)
