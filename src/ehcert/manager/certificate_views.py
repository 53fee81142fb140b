"""What a keystore's certificate is: the local view (validity, renewal window) and the
platform's status of it, for ``ehcert cert show|status`` and the web UI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ehcert.client.platform import PlatformClient, serial_of
from ehcert.client.results import CertificateStatus
from ehcert.core.names import parse_ehealth_subject
from ehcert.core.policy import renewal_opens
from ehcert.manager.keystore_steps import open_keystore, require_aware


@dataclass(frozen=True, slots=True)
class CertificateView:
    """What the keystore alone says about its certificate at ``now``."""

    holder: str
    subject: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: int
    expired: bool
    renewal_opens: dt.datetime
    renewal_window_open: bool


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The local view of a keystore's certificate plus the platform's status of it."""

    keystore: Path
    certificate: CertificateView
    platform: CertificateStatus


def describe_certificate(certificate: x509.Certificate, now: dt.datetime) -> CertificateView:
    """Holder, validity and renewal window of ``certificate`` at ``now`` (policy: 90 days)."""
    require_aware(now)
    not_after = certificate.not_valid_after_utc
    opens = renewal_opens(not_after)
    return CertificateView(
        holder=_holder_text(certificate),
        subject=certificate.subject.rfc4514_string(),
        serial=serial_of(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=not_after,
        days_left=(not_after - now).days,
        expired=now > not_after,
        renewal_opens=opens,
        renewal_window_open=opens <= now <= not_after,
    )


def _holder_text(certificate: x509.Certificate) -> str:
    try:
        return parse_ehealth_subject(certificate.subject).holder_text
    except ValueError:
        return certificate.subject.rfc4514_string()


def describe_keystore(keystore_path: Path, password: str, now: dt.datetime) -> CertificateView:
    """The local view of a keystore's authentication certificate (no platform call)."""
    _, current = open_keystore(keystore_path, password)
    return describe_certificate(current.certificate, now)


def certificate_status(
    client: PlatformClient, keystore_path: Path, password: str, now: dt.datetime
) -> StatusReport:
    """What the keystore's certificate is at ``now``, locally and according to the platform."""
    require_aware(now)
    _, current = open_keystore(keystore_path, password)
    view = describe_certificate(current.certificate, now)
    return StatusReport(keystore_path, view, client.status(view.serial))
