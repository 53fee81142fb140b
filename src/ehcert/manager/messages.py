"""Sealing and unsealing messages by identifier, as a care provider's software does.

``seal_for`` looks up each recipient's ETK in the platform's depot, verifies it (CMS
signature by the depot, encryption certificate signed by the holder's authentication
key, same subject, key rules, chain to the platform's root, validity now, and the
authentication certificate's status at the platform) and refuses the send with the
reason when any ETK is not usable. The sender's own current encryption certificate is
added as a recipient by default, so the sender can reread what it sent.

``unseal_file`` opens a message with every key the keystore has ever held and returns
the content with the two verdicts (data and trust) of :mod:`ehcert.client.etee`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ehcert.client.etee import Unsealed, seal, unseal
from ehcert.client.platform import CertificateState, PlatformClient, normalise_serial
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.etk import parse_etk, verify_etk
from ehcert.pki.keystore import Keystore, read_keystore_file
from ehcert.pki.revocation import RevocationChecker, RevocationStatus

CIPHERS = ("aes128", "aes256")


@dataclass(frozen=True, slots=True)
class SealedFor:
    """Who a message was sealed for: identifier and encryption certificate serial."""

    identifier: str
    holder: str
    encryption_serial: str


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


def seal_for(
    client: PlatformClient,
    keystore: Keystore,
    recipients: Sequence[str],
    content: bytes,
    *,
    now: dt.datetime,
    cipher: str = "aes128",
    include_sender: bool = True,
) -> tuple[bytes, list[SealedFor]]:
    """Seal ``content`` for the holders named by ``recipients`` (``TYPE=ID[,APP]``)."""
    if cipher not in CIPHERS:
        raise EhcertError(
            ErrorKind.MALFORMED, f"Cipher must be one of {', '.join(CIPHERS)}.", field="cipher"
        )
    if not recipients:
        raise EhcertError(ErrorKind.MALFORMED, "Name at least one recipient.", field="to")
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
    allow_sha1_certificates: bool = False,
) -> Unsealed:
    """Open ``data`` with every key in the keystore; see :func:`ehcert.client.etee.unseal`."""
    keystore = read_keystore_file(keystore_path, password)
    return unseal(
        data,
        [keystore],
        anchors=anchors,
        at=now,
        allow_sha1_certificates=allow_sha1_certificates,
    )
