"""Sealing and unsealing messages by identifier, as a care provider's software does.

``seal_for`` looks up each recipient's ETK in the platform's depot, verifies it (CMS
signature by the depot, encryption certificate signed by the holder's authentication
key, same subject, key rules, chain to the platform's root, validity now, and the
authentication certificate's status at the platform) and refuses the send with the
reason when any ETK is not usable. The sender's own current encryption certificate is
added as a recipient by default, so the sender can reread what it sent.

Before anything is looked up, the sender's own certificate must be fit to sign: within
its validity now and not revoked at the platform (:func:`check_own_certificate`); a
message signed with a revoked or expired certificate would only be rejected by every
recipient that checks, and mislead those that do not.

``unseal_file`` opens a message with every key the keystore has ever held and returns
the content with the two verdicts (data and trust) of :mod:`ehcert.client.etee`; the
caller's revocation checker decides how the sender's status is learnt (online, or not
at all with ``--offline``, which the report then shows as unknown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ehcert.client.etee import Unsealed, seal, unseal
from ehcert.client.platform import PlatformClient, normalise_serial
from ehcert.client.results import CertificateState
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.local_etk import key_type, usable_etk_file
from ehcert.pki.etk import parse_etk, verify_etk
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.keystore_entries import Keystore
from ehcert.pki.revocation import RevocationChecker, RevocationStatus, describe_name

CIPHERS = ("aes128", "aes256")


@dataclass(frozen=True, slots=True)
class SealedFor:
    """Who a message was sealed for: identifier, encryption certificate serial and the
    kind of its key (``RSA 2048``, ``EC secp384r1``: key transport or key agreement)."""

    identifier: str
    holder: str
    encryption_serial: str
    key_type: str


def _platform_revocation(client: PlatformClient, root: x509.Certificate) -> RevocationChecker:
    """A revocation checker that asks the platform about certificates it issued."""

    def check(certificate: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        if issuer.subject == root.subject:
            return RevocationStatus.good()  # the root has revoked no CA
        status = client.status(normalise_serial(format(certificate.serial_number, "x")))
        if status.status is CertificateState.REVOKED and status.revoked_at is not None:
            return RevocationStatus.revoked(None, status.revoked_at)
        return RevocationStatus.good()

    return check


def newest_encryption_certificate(keystore: Keystore) -> x509.Certificate | None:
    keys = keystore.encryption_keys()
    return keys[0].certificate if keys else None


def check_own_certificate(client: PlatformClient, keystore: Keystore, now: dt.datetime) -> None:
    """Refuse to sign with an authentication certificate that is expired, not yet valid
    or revoked (one sentence, EhcertError; the CLI exits 1)."""
    certificate = keystore.authentication().certificate
    serial = normalise_serial(format(certificate.serial_number, "x"))
    if now > certificate.not_valid_after_utc:
        raise EhcertError(
            ErrorKind.CERTIFICATE_EXPIRED,
            f"Your certificate {serial} expired on "
            f"{certificate.not_valid_after_utc.date().isoformat()}; request a new one "
            "with 'ehcert cert request' before sealing.",
            field="keystore",
        )
    if now < certificate.not_valid_before_utc:
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"Your certificate {serial} is valid only from "
            f"{certificate.not_valid_before_utc.isoformat()}; check this computer's clock.",
            field="keystore",
        )
    status = client.status(serial)
    if status.status is CertificateState.REVOKED:
        when = status.revoked_at.date().isoformat() if status.revoked_at else "an earlier date"
        raise EhcertError(
            ErrorKind.REVOKED,
            f"Your certificate {serial} was revoked on {when}; it can no longer sign. "
            "Request a new one with 'ehcert cert request'.",
            field="keystore",
        )


def seal_for(
    client: PlatformClient,
    keystore: Keystore,
    recipients: Sequence[str],
    content: bytes,
    *,
    now: dt.datetime,
    cipher: str = "aes128",
    include_sender: bool = True,
    etk_files: Sequence[Path] = (),
) -> tuple[bytes, list[SealedFor]]:
    """Seal ``content`` for the holders named by ``recipients`` (``TYPE=ID[,APP]``) and
    for the ETKs in ``etk_files``, each verified exactly as one from the depot."""
    if cipher not in CIPHERS:
        raise EhcertError(
            ErrorKind.MALFORMED, f"Cipher must be one of {', '.join(CIPHERS)}.", field="cipher"
        )
    if not recipients and not etk_files:
        raise EhcertError(ErrorKind.MALFORMED, "Name at least one recipient.", field="to")
    check_own_certificate(client, keystore, now)
    platform_cas = client.ca_certificates()
    revocation = _platform_revocation(client, platform_cas.root)
    certificates: list[x509.Certificate] = []
    sealed_for: list[SealedFor] = []
    for identifier in recipients:
        published = client.etk(identifier)
        etk = parse_etk(published.der)
        verdict = verify_etk(etk, anchors=[platform_cas.root], at=now, revocation=revocation)
        if not verdict.usable:
            raise EhcertError(
                ErrorKind.UNTRUSTED,
                f"The ETK of {identifier} cannot be used: {verdict.reason()}",
                field="to",
            )
        certificates.append(etk.encryption_certificate)
        sealed_for.append(
            SealedFor(
                identifier,
                published.holder,
                format(etk.encryption_certificate.serial_number, "d"),
                key_type(etk.encryption_certificate),
            )
        )
    for path in etk_files:
        etk = usable_etk_file(path, anchors=[platform_cas.root], at=now, revocation=revocation)
        certificates.append(etk.encryption_certificate)
        holder = describe_name(etk.authentication_certificate.subject)
        sealed_for.append(
            SealedFor(
                str(path),
                holder,
                format(etk.encryption_certificate.serial_number, "d"),
                key_type(etk.encryption_certificate),
            )
        )
    own = newest_encryption_certificate(keystore) if include_sender else None
    sealed = seal(
        content,
        sender=keystore.authentication(),
        recipients=certificates,
        include_sender_encryption=own,
        cipher=cipher,
        signing_time=now,
    )
    return sealed, sealed_for


def unseal_file(
    keystore_path: Path,
    password: str,
    data: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    now: dt.datetime,
    revocation: RevocationChecker | None = None,
    allow_sha1_certificates: bool = False,
    allow_sha1_signatures: bool = False,
    sender_certificates: Sequence[x509.Certificate] = (),
) -> Unsealed:
    """Open ``data`` with every key in the keystore; see :func:`ehcert.client.etee.unseal`."""
    keystore = read_keystore_file(keystore_path, password)
    return unseal(
        data,
        [keystore],
        anchors=anchors,
        at=now,
        revocation=revocation,
        allow_sha1_certificates=allow_sha1_certificates,
        allow_sha1_signatures=allow_sha1_signatures,
        sender_certificates=sender_certificates,
    )
