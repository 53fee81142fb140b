"""Digital keys: the stored credential and its counters, changed by atomic statements.

A digital key is a username, an argon2id password hash and a TOTP secret (the rules
that use them are ``ra.digital_key``'s). Two API processes on one PostgreSQL may check
the same code at the same moment, so what must not race is one statement each:

- :meth:`DigitalKeyRepository.spend_step` records a TOTP time step as used only if it is
  later than the last one used (compare-and-set): of two requests carrying the same
  code, one wins and the other sees the code as used (RFC 6238 section 5.2);
- :meth:`DigitalKeyRepository.count_failure` adds one to the failed attempts and reads
  the new count in the same statement.

A username is never given twice and a person holds at most one key that is not revoked
(the database enforces both); a revoked key stays as history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, insert_unless_taken, violated_constraint
from ehcert.store.models import DigitalKeyRow


@dataclass(frozen=True, slots=True)
class NewDigitalKey:
    username: str
    ssin: str
    password_hash: str
    totp_secret: str
    identity_check_id: int
    issued_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DigitalKeyRecord:
    username: str
    ssin: str
    password_hash: str
    totp_secret: str
    last_used_step: int | None
    failed_attempts: int
    locked_until: dt.datetime | None
    identity_check_id: int
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revocation_reason: str | None

    @classmethod
    def from_row(cls, row: DigitalKeyRow) -> DigitalKeyRecord:
        return cls(
            row.username,
            row.ssin,
            row.password_hash,
            row.totp_secret,
            row.last_used_step,
            row.failed_attempts,
            row.locked_until,
            row.identity_check_id,
            row.issued_at,
            row.revoked_at,
            row.revoked_by,
            row.revocation_reason,
        )


class DigitalKeyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: NewDigitalKey) -> DigitalKeyRecord:
        """CONFLICT naming the username when it was ever given, or the SSIN when that
        person already holds a key that is not revoked."""
        values = {
            "username": key.username,
            "ssin": key.ssin,
            "password_hash": key.password_hash,
            "totp_secret": key.totp_secret,
            "last_used_step": None,
            "failed_attempts": 0,
            "locked_until": None,
            "identity_check_id": key.identity_check_id,
            "issued_at": require_aware(key.issued_at),
        }
        refused = insert_unless_taken(self._session, DigitalKeyRow, values)
        if refused is not None:
            if "username" in violated_constraint(refused):
                raise EhcertError(
                    ErrorKind.CONFLICT,
                    f"The username {key.username} is taken; choose another.",
                    field="username",
                )
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"SSIN {key.ssin} already holds a digital key; revoke it first.",
                field="ssin",
            )
        found = self.by_username(key.username)
        assert found is not None
        return found

    def by_username(self, username: str) -> DigitalKeyRecord | None:
        row = self._session.scalars(
            select(DigitalKeyRow)
            .where(DigitalKeyRow.username == username)
            .execution_options(populate_existing=True)
        ).first()
        return DigitalKeyRecord.from_row(row) if row is not None else None

    def live_for(self, ssin: str) -> DigitalKeyRecord | None:
        """The key of ``ssin`` that is not revoked, if any."""
        row = self._session.scalars(
            select(DigitalKeyRow).where(
                DigitalKeyRow.ssin == ssin, DigitalKeyRow.revoked_at.is_(None)
            )
        ).first()
        return DigitalKeyRecord.from_row(row) if row is not None else None

    def spend_step(self, username: str, step: int) -> bool:
        """Mark TOTP time step ``step`` used, only if it is later than the last one used;
        a success also clears the failed attempts. False: the step was used already."""
        result = self._session.execute(
            update(DigitalKeyRow)
            .where(
                DigitalKeyRow.username == username,
                or_(DigitalKeyRow.last_used_step.is_(None), DigitalKeyRow.last_used_step < step),
            )
            .values(last_used_step=step, failed_attempts=0, locked_until=None)
        )
        return affected_rows(result) == 1

    def count_failure(self, username: str) -> int:
        """One more failed attempt; the new count."""
        return int(
            self._session.execute(
                update(DigitalKeyRow)
                .where(DigitalKeyRow.username == username)
                .values(failed_attempts=DigitalKeyRow.failed_attempts + 1)
                .returning(DigitalKeyRow.failed_attempts)
            ).scalar_one()
        )

    def lock(self, username: str, until: dt.datetime) -> None:
        """Lock the key until ``until``; the count of failures starts again from zero."""
        self._session.execute(
            update(DigitalKeyRow)
            .where(DigitalKeyRow.username == username)
            .values(locked_until=require_aware(until), failed_attempts=0)
        )

    def revoke(self, username: str, at: dt.datetime, by: str, reason: str) -> DigitalKeyRecord:
        """Revoke a key that is not revoked yet; NOT_FOUND / CONFLICT otherwise."""
        result = self._session.execute(
            update(DigitalKeyRow)
            .where(DigitalKeyRow.username == username, DigitalKeyRow.revoked_at.is_(None))
            .values(revoked_at=require_aware(at), revoked_by=by, revocation_reason=reason)
        )
        found = self.by_username(username)
        if found is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"No digital key has the username {username}.",
                field="username",
            )
        if affected_rows(result) != 1:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"The digital key {username} was already revoked on {found.revoked_at:%Y-%m-%d}.",
                field="username",
            )
        return found
