"""A cache of signed OCSP responses (RFC 6960), so a hot certificate is signed once per
validity window instead of once per request.

Correctness rule: the cache must never answer with a stale status. Every status change of a
certificate calls :meth:`OcspCache.invalidate` in the *same transaction* as the change
(``CertificateRepository.revoke`` does so itself), and :meth:`OcspCache.get` never returns
a response whose ``nextUpdate`` (RFC 6960 section 4.2.2.1) has passed, nor one whose
``producedAt`` lies after ``now``: after a start under a clock set in the future, such an
answer would claim a status "as of tomorrow" and fail relying parties' time checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ehcert.store.columns import require_aware
from ehcert.store.db import dialect_insert
from ehcert.store.models import OcspResponseRow


@dataclass(frozen=True, slots=True)
class CachedOcspResponse:
    serial_hex: str
    der: bytes
    produced_at: dt.datetime
    next_update: dt.datetime


class OcspCache:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, serial_hex: str, now: dt.datetime) -> CachedOcspResponse | None:
        """The cached response for ``serial_hex`` if it is fresh at ``now`` (produced at or
        before ``now``, next update after it)."""
        moment = require_aware(now, "now")
        row = self._session.scalars(
            select(OcspResponseRow).where(
                OcspResponseRow.serial_hex == serial_hex,
                OcspResponseRow.next_update > moment,
                OcspResponseRow.produced_at <= moment,
            )
        ).one_or_none()
        if row is None:
            return None
        return CachedOcspResponse(row.serial_hex, row.der, row.produced_at, row.next_update)

    def put(
        self, serial_hex: str, der: bytes, produced_at: dt.datetime, next_update: dt.datetime
    ) -> None:
        """Store (or replace) the response for ``serial_hex``."""
        if require_aware(next_update, "next_update") <= require_aware(produced_at, "produced_at"):
            raise ValueError("next_update must be after produced_at")
        insert = dialect_insert(self._session)
        values = {
            "serial_hex": serial_hex,
            "der": bytes(der),
            "produced_at": produced_at,
            "next_update": next_update,
        }
        statement = insert(OcspResponseRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[OcspResponseRow.serial_hex],
            set_={key: statement.excluded[key] for key in ("der", "produced_at", "next_update")},
        )
        self._session.execute(statement)

    def invalidate(self, serial_hex: str) -> None:
        """Forget the response for ``serial_hex`` (its status has just changed)."""
        self._session.execute(
            delete(OcspResponseRow).where(OcspResponseRow.serial_hex == serial_hex)
        )
