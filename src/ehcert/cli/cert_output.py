"""How ``ehcert cert`` shows a certificate: the local view, the platform's status, and
the keystore a command just wrote (text, or one JSON object with ``--json``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ehcert.cli.options import warn_legacy
from ehcert.cli.output import emit_json, stdout_console
from ehcert.client.results import CertificateState, CertificateStatus
from ehcert.core.clock import Clock
from ehcert.manager.certificate_views import CertificateView, describe_keystore

# --- output --------------------------------------------------------------------------------


def _date(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def show_view(view: CertificateView, platform: CertificateStatus | None = None) -> None:
    rows = [
        ("Holder", view.holder),
        ("Subject", view.subject),
        ("Serial", view.serial),
        ("Valid from", _date(view.not_before)),
        ("Valid until", f"{_date(view.not_after)} ({_days(view)})"),
        ("Renewal", _renewal_text(view, platform)),
    ]
    for label, value in rows:
        stdout_console.print(f"[bold]{label + ':':<13}[/bold] {value}", markup=True)


def _days(view: CertificateView) -> str:
    if view.expired:
        return "expired"
    return f"{view.days_left} day{'s' if view.days_left != 1 else ''} left"


def _renewal_text(view: CertificateView, platform: CertificateStatus | None) -> str:
    if platform is not None and platform.status is CertificateState.REVOKED:
        return "not possible for a revoked certificate; make a new request with your eID"
    if view.expired:
        return "no longer possible; make a new request with your eID"
    if view.renewal_window_open:
        return "open now: run 'ehcert cert renew'"
    return f"opens on {view.renewal_opens:%Y-%m-%d}"


def show_platform_status(status: CertificateStatus) -> None:
    text = status.status.value
    if status.revoked_at is not None:
        reason = f", {status.revocation_reason}" if status.revocation_reason else ""
        text += f" (since {_date(status.revoked_at)}{reason})"
    stdout_console.print(f"[bold]{'Platform:':<13}[/bold] {text}", markup=True)


def written(
    clock: Clock, path: Path, password: str, json_output: bool, verb: str, legacy: bool
) -> None:
    """Show the keystore a command just wrote, then the legacy warning when it applies."""
    view = describe_keystore(path, password, clock.now())
    if json_output:
        emit_json({"keystore": path, "certificate": view})
    else:
        stdout_console.print(f"{verb} keystore: {path}", markup=False)
        show_view(view)
    warn_legacy(legacy)
