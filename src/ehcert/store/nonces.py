"""Server nonces: issued by the platform, signed by the client, accepted once.

RFC 8555 section 6.5 (ACME anti-replay) is the model: a nonce is unpredictable, short-lived
and single-use. Single use is enforced by one conditional UPDATE::

    UPDATE nonces SET used_at = :now
     WHERE value = :v AND used_at IS NULL AND expires_at > :now

and a row count of exactly one. PostgreSQL's row lock makes a second concurrent UPDATE wait
and then re-check ``used_at IS NULL`` against the committed row; SQLite has a single writer.
Either way two consumers can never both win. Expired nonces are deleted whenever a new one is
created, so the table stays as small as the number of nonces alive.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows
from ehcert.store.models import NonceRow

MAX_NONCE_LENGTH = 128
# Upper bound of rows one purge deletes, so no request pays for a long idle period at once.
PURGE_BATCH = 500


class NonceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create(
        self,
        value: str,
        now: dt.datetime,
        ttl: dt.timedelta,
        *,
        max_outstanding: int | None = None,
    ) -> dt.datetime:
        """Record a fresh nonce valid for ``ttl``; return when it expires.

        With ``max_outstanding`` the table never holds more nonces than that: the ones
        closest to expiry are forgotten first (a client holding one gets ``badNonce`` and
        a fresh nonce with it, RFC 8555 section 6.5), so a flood of nonce requests costs
        bounded storage and never slows the signed requests that spend them.
        """
        if not isinstance(value, str) or not 16 <= len(value) <= MAX_NONCE_LENGTH:
            raise ValueError(f"a nonce must be a string of 16 to {MAX_NONCE_LENGTH} characters")
        if ttl <= dt.timedelta(0):
            raise ValueError("a nonce's time to live must be positive")
        created = require_aware(now, "now")
        expires = created + ttl
        self.purge_expired(created)
        if max_outstanding is not None:
            self._evict_beyond(max_outstanding - 1)
        try:
            self._session.connection().execute(
                insert(NonceRow).values(
                    value=value, created_at=created, expires_at=expires, used_at=None
                )
            )
        except IntegrityError as error:
            raise EhcertError(
                ErrorKind.CONFLICT, "This nonce value was already issued.", field="nonce"
            ) from error
        return expires

    def consume(self, value: str, now: dt.datetime) -> bool:
        """Use the nonce once: True for the one caller that may proceed, else False.

        False covers unknown, expired and already used nonces alike; the caller answers
        ``badNonce`` without telling them apart.
        """
        moment = require_aware(now, "now")
        result = self._session.execute(
            update(NonceRow)
            .where(
                NonceRow.value == value,
                NonceRow.used_at.is_(None),
                NonceRow.expires_at > moment,
            )
            .values(used_at=moment)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) == 1

    def purge_expired(self, now: dt.datetime) -> int:
        """Delete up to :data:`PURGE_BATCH` nonces expired at ``now``; return how many.

        On PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``: concurrent purges
        share the work instead of waiting on (or deadlocking over) each other's rows.
        """
        expired = (
            select(NonceRow.value)
            .where(NonceRow.expires_at <= require_aware(now, "now"))
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        result = self._session.execute(
            delete(NonceRow)
            .where(NonceRow.value.in_(expired))
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result)

    def _evict_beyond(self, keep: int) -> int:
        """Delete the nonces closest to expiry until at most ``keep`` remain."""
        excess = int(self._session.scalar(select(func.count()).select_from(NonceRow)) or 0) - keep
        if excess <= 0:
            return 0
        oldest = (
            select(NonceRow.value)
            .order_by(NonceRow.expires_at)
            .limit(excess)
            .with_for_update(skip_locked=True)
        )
        result = self._session.execute(
            delete(NonceRow)
            .where(NonceRow.value.in_(oldest))
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result)
