"""Operator actions on a platform's data directory (``ehcert admin``), with their policy.

Registry changes with consequences for live certificates are decided here, once:

- **Withdrawing a provider** stops issuance and renewal at once (the RA reads the
  registry on every request) and *revokes* every live certificate of that person with
  reason ``privilegeWithdrawn``: the certificate asserts a quality the authentic source
  no longer confirms, and relying parties must learn it through OCSP and the CRL now,
  not at expiry.
- **Ending a mandate** stops that person's requests, renewals and revocations for the
  institution at once. The institution's live certificates stay valid, because they
  belong to the institution, not to the former holder, and its systems keep working
  while a new holder is mandated. The operator is told which certificates remain and
  may revoke them in the same command (``--revoke-certificates``, reason
  ``affiliationChanged``).
- **Test eIDs** are issued only in acceptance, by the test citizen CA.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId, Ssin
from ehcert.core.identity import admin_identity
from ehcert.core.keys import key_type as parse_key_type
from ehcert.pki.files import write_private_file
from ehcert.pki.public_keys import generate_private_key
from ehcert.platform import Platform
from ehcert.ra.ports import CertificateFacts
from ehcert.registry.service import RegistryService
from ehcert.store.eid import EidRepository


@dataclass(frozen=True, slots=True)
class IssuedEid:
    serial_hex: str
    ssin: str
    not_after: dt.datetime
    path: Path | None
    token_label: str | None


def withdraw_provider(platform: Platform, ssin: str, operator: str) -> list[CertificateFacts]:
    """Withdraw from the registry, then revoke the person's live certificates."""
    now = platform.now()
    RegistryService(platform.database).withdraw_provider(ssin, now)
    identity = admin_identity(operator)
    revoked = []
    for facts in platform.ra.live_for_holder("SSIN", ssin, now):
        revoked.append(platform.ra.revoke(identity, facts.serial_hex, "privilegeWithdrawn", now))
    return revoked


def end_mandate(
    platform: Platform,
    institution: InstitutionId,
    holder_ssin: str,
    operator: str,
    *,
    revoke_certificates: bool,
) -> tuple[list[CertificateFacts], list[CertificateFacts]]:
    """End a mandate; return (revoked, still live) institution certificates."""
    now = platform.now()
    RegistryService(platform.database).end_mandate(institution, holder_ssin, now)
    live = platform.ra.live_for_holder(institution.type, institution.value, now)
    if not revoke_certificates:
        return [], live
    identity = admin_identity(operator)
    revoked = [
        platform.ra.revoke(identity, facts.serial_hex, "affiliationChanged", now) for facts in live
    ]
    return revoked, []


def admin_revoke(
    platform: Platform, serial_hex: str, reason: str, operator: str
) -> CertificateFacts:
    return platform.ra.revoke(admin_identity(operator), serial_hex, reason, platform.now())


def issue_test_eid(
    platform: Platform,
    ssin: str,
    pin: str,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    out: Path | None = None,
    pkcs11_module: str | None = None,
    token_label: str | None = None,
    validity: dt.timedelta | None = None,
    key_type: str = "rsa-2048",
) -> IssuedEid:
    """Create a test eID credential: a key, a certificate by the test citizen CA, and
    either a PKCS#12 file (encrypted under the PIN, AES-256) or a PKCS#11 token entry
    labelled ``Authentication`` as the Belgian eID middleware exposes it.

    ``key_type`` ``ec-p384`` makes the key of every Belgian eID card since applet 1.8
    (2021); ``rsa-2048`` (the default) that of the older cards."""
    chosen = parse_key_type(key_type)
    Ssin(ssin)
    if not pin:
        raise EhcertError(ErrorKind.MALFORMED, "The eID PIN must not be empty.", field="pin")
    if first_name is None or last_name is None:
        provider = RegistryService(platform.database).find_provider(ssin)
        if provider is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"SSIN {ssin} is not in the registry; give --first-name and --last-name.",
                field="ssin",
            )
        first_name = first_name or provider.first_name
        last_name = last_name or provider.last_name
    now = platform.now()
    key = generate_private_key(chosen)
    kwargs = {"validity": validity} if validity is not None else {}
    certificate = platform.ca.sign_test_eid(
        ssin, first_name, last_name, key.public_key(), now, **kwargs
    )
    serial_hex = format(certificate.serial_number, "x")
    eid_ca, eid_root = platform.hierarchy.eid_ca, platform.hierarchy.eid_root
    if eid_ca is None or eid_root is None:  # sign_test_eid refused already
        raise EhcertError(ErrorKind.FORBIDDEN, "This environment has no test citizen CA.")
    chain = [eid_ca.certificate, eid_root.certificate]
    with platform.database.session() as session:
        EidRepository(session).add(serial_hex, ssin, certificate.not_valid_after_utc)
    if pkcs11_module:
        from ehcert.pki import pkcs11

        if not token_label:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "--token-label is needed with --pkcs11-module.",
                field="token_label",
            )
        pkcs11.import_private_key(
            pkcs11_module, token_label, pin, "Authentication", key, certificate
        )
        for index, ca_certificate in enumerate(chain):
            pkcs11.Pkcs11Token(pkcs11_module, token_label, pin).import_certificate(
                f"CA{index}" if index else "CA", ca_certificate
            )
    if out is not None:
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(200_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(pin.encode("utf-8"))
        )
        data = pkcs12.serialize_key_and_certificates(
            b"Authentication", key, certificate, chain, encryption
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        write_private_file(out, data)
    return IssuedEid(serial_hex, ssin, certificate.not_valid_after_utc, out, token_label)


def revoke_test_eid(platform: Platform, serial_hex: str, reason: str) -> None:
    with platform.database.session() as session:
        EidRepository(session).revoke(serial_hex.lower(), reason, platform.now())
