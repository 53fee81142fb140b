"""Lifecycle policy of eHealth certificates: validity, renewal window, key rules.

- An eHealth certificate is valid 36 months (eHealth certificate policy).
- It can be renewed only from 90 days before expiry until expiry; after expiry the
  holder must make a new request with a strong means of identification.
- Keys and their sizes: :mod:`ehcert.core.keys`; revocation reasons:
  :mod:`ehcert.core.revocation`.

All functions take ``now`` as an argument; nothing here reads a clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind

VALIDITY_MONTHS = 36
RENEWAL_WINDOW = dt.timedelta(days=90)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar month arithmetic; the day is clamped to the target month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True, slots=True)
class Validity:
    not_before: dt.datetime
    not_after: dt.datetime


def certificate_validity(now: dt.datetime) -> Validity:
    """Validity of a new certificate: from ``now`` (whole seconds) for exactly 36 months."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    start = now.astimezone(dt.UTC).replace(microsecond=0)
    return Validity(start, add_months(start, VALIDITY_MONTHS))


def renewal_opens(not_after: dt.datetime) -> dt.datetime:
    return not_after - RENEWAL_WINDOW


def check_renewal_window(not_after: dt.datetime, now: dt.datetime) -> None:
    """Refuse a renewal outside ``[not_after - 90 days, not_after]`` with a sentence saying why."""
    if now > not_after:
        raise EhcertError(
            ErrorKind.CERTIFICATE_EXPIRED,
            f"The certificate expired on {not_after:%Y-%m-%d}; renewal is no longer "
            "possible, make a new request with your eID.",
        )
    opens = renewal_opens(not_after)
    if now < opens:
        raise EhcertError(
            ErrorKind.RENEWAL_TOO_EARLY,
            f"Renewal opens on {opens:%Y-%m-%d} (90 days before the certificate expires "
            f"on {not_after:%Y-%m-%d}).",
        )


def renewal_window_is_open(not_after: dt.datetime, now: dt.datetime) -> bool:
    return renewal_opens(not_after) <= now <= not_after
