"""The audit log: append-only, each record hash-chained to the one before it.

Every record stores ``hash = SHA-256(canonical JSON of seq, at, action, actor, subject,
detail, prev_hash)`` and the previous record's hash, starting from ``GENESIS_HASH``. A
one-row table ``audit_head`` holds the last ``seq`` and ``hash``. This detects, with
:func:`verify_audit_chain`:

- an edited record (its hash no longer matches its content, or, if the hash was recomputed,
  the next record's ``prev_hash`` no longer matches);
- a deleted record (a gap in ``seq`` or a ``prev_hash`` mismatch);
- a truncated tail (the head names a later record than the last one present).

What it cannot detect on its own is someone with write access rewriting the *whole* chain
and the head consistently; publishing the head hash elsewhere from time to time (in a signed
report, a log, a ticket) closes that gap, as any hash chain needs an external anchor.

Appends must never fork the chain. Each append locks the head row (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite takes its single write lock first, see ``db.lock_for_write``), so
concurrent appends line up one after the other; ``seq`` being the primary key is the last
line of defence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from sqlalchemy import Row, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import DECIDED, DECISION_CHANNEL, affected_rows, lock_for_write
from ehcert.store.models import GENESIS_HASH, AuditHeadRow, AuditRecordRow

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

_ACTION = re.compile(r"[a-z][a-z0-9-]{0,31}")
_MAX_NAME = 200


def canonical_json(value: object) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 kept as is, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def record_hash(
    *,
    seq: int,
    at: dt.datetime,
    action: str,
    actor: str,
    subject: str,
    detail: object,
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) that chains a record: over the canonical JSON of all its fields."""
    payload = {
        "seq": seq,
        "at": require_aware(at, "at").isoformat(timespec="microseconds"),
        "action": action,
        "actor": actor,
        "subject": subject,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: dt.datetime
    action: str
    actor: str
    subject: str
    detail: str  # canonical JSON text; json.loads it to read
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """Outcome of a chain check; ``records`` counts the records found consistent."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None


class AuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session

    def append(
        self,
        at: dt.datetime,
        action: str,
        actor: str,
        subject: str,
        detail: Mapping[str, JsonValue] | None = None,
    ) -> AuditRecord:
        """Add one record at the end of the chain, in the caller's transaction."""
        if not isinstance(action, str) or not _ACTION.fullmatch(action):
            raise ValueError(f"audit action must match {_ACTION.pattern}, got {action!r}")
        for name, text in (("actor", actor), ("subject", subject)):
            if not isinstance(text, str) or not 0 < len(text) <= _MAX_NAME:
                raise ValueError(f"audit {name} must be 1 to {_MAX_NAME} characters")
        moment = require_aware(at, "at")
        detail_object: dict[str, JsonValue] = dict(detail or {})
        detail_text = canonical_json(detail_object)

        lock_for_write(self._session)
        self._session.info[DECIDED] = True
        if self._session.get_bind().dialect.name == "postgresql":
            # Delivered to every listener when (and only if) this transaction commits.
            self._session.execute(sql_text(f"NOTIFY {DECISION_CHANNEL}"))
        last_seq, last_hash = self._session.execute(
            select(AuditHeadRow.last_seq, AuditHeadRow.last_hash)
            .where(AuditHeadRow.id == 1)
            .with_for_update()
        ).one()
        seq = last_seq + 1
        digest = record_hash(
            seq=seq,
            at=moment,
            action=action,
            actor=actor,
            subject=subject,
            detail=json.loads(detail_text),
            prev_hash=last_hash,
        )
        self._session.execute(
            insert(AuditRecordRow).values(
                seq=seq,
                at=moment,
                action=action,
                actor=actor,
                subject=subject,
                detail=detail_text,
                prev_hash=last_hash,
                hash=digest,
            )
        )
        moved = self._session.execute(
            update(AuditHeadRow)
            .where(AuditHeadRow.id == 1, AuditHeadRow.last_seq == last_seq)
            .values(last_seq=seq, last_hash=digest)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(moved) != 1:  # only possible if the lock above was bypassed
            raise EhcertError(ErrorKind.INTERNAL, "The audit log head moved during an append.")
        return AuditRecord(seq, moment, action, actor, subject, detail_text, last_hash, digest)

    def records(
        self, *, subject: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> list[AuditRecord]:
        """Records in chain order, optionally for one subject (``SSIN=...``, ``CBE=...``)."""
        statement = select(AuditRecordRow).where(AuditRecordRow.seq > after_seq)
        if subject is not None:
            statement = statement.where(AuditRecordRow.subject == subject)
        rows = self._session.scalars(statement.order_by(AuditRecordRow.seq).limit(limit))
        return [
            AuditRecord(
                row.seq,
                row.at,
                row.action,
                row.actor,
                row.subject,
                row.detail,
                row.prev_hash,
                row.hash,
            )
            for row in rows
        ]

    def verify(self) -> AuditVerification:
        return verify_audit_chain(self._session)


def verify_audit_chain(session: Session) -> AuditVerification:
    """Walk the whole chain in ``seq`` order and check every link and the head."""
    columns = (
        AuditRecordRow.seq,
        AuditRecordRow.at,
        AuditRecordRow.action,
        AuditRecordRow.actor,
        AuditRecordRow.subject,
        AuditRecordRow.detail,
        AuditRecordRow.prev_hash,
        AuditRecordRow.hash,
    )
    rows = session.execute(
        select(*columns).order_by(AuditRecordRow.seq).execution_options(yield_per=1000)
    )
    try:
        failure, checked, previous_hash = _walk(rows)
    finally:
        rows.close()
    if failure is not None:
        return failure

    head = session.execute(
        select(AuditHeadRow.last_seq, AuditHeadRow.last_hash).where(AuditHeadRow.id == 1)
    ).one_or_none()
    if head is None:
        return AuditVerification(False, checked, checked + 1, "the audit head row is missing")
    head_seq, head_hash = head
    if head_seq > checked:
        return AuditVerification(
            False,
            checked,
            checked + 1,
            f"the log was truncated: the head names record {head_seq}, the last is {checked}",
        )
    if head_seq < checked:
        return AuditVerification(
            False,
            checked,
            head_seq + 1,
            f"records after {head_seq} were added outside the audit log",
        )
    if head_hash != previous_hash:
        return AuditVerification(
            False, checked, max(checked, 1), f"record {checked} does not match the head's hash"
        )
    return AuditVerification(True, checked)


def _walk(
    rows: Iterable[Row[int, dt.datetime, str, str, str, str, str, str]],
) -> tuple[AuditVerification | None, int, str]:
    """Check links in order; return (failure or None, records checked, last hash)."""
    checked = 0
    previous_hash = GENESIS_HASH
    for seq, at, action, actor, subject, detail_text, prev_hash, stored_hash in rows:
        expected = checked + 1
        if seq != expected:
            reason = f"record {expected} is missing (next present: {seq})"
            return AuditVerification(False, checked, expected, reason), checked, previous_hash
        if prev_hash != previous_hash:
            reason = f"record {seq} does not chain to the record before it"
            return AuditVerification(False, checked, seq, reason), checked, previous_hash
        try:
            detail = json.loads(detail_text)
        except ValueError:
            reason = f"record {seq} has unreadable detail"
            return AuditVerification(False, checked, seq, reason), checked, previous_hash
        recomputed = record_hash(
            seq=seq,
            at=at,
            action=action,
            actor=actor,
            subject=subject,
            detail=detail,
            prev_hash=prev_hash,
        )
        if recomputed != stored_hash:
            reason = f"record {seq} was altered: its hash does not match"
            return AuditVerification(False, checked, seq, reason), checked, previous_hash
        previous_hash = stored_hash
        checked += 1
    return None, checked, previous_hash
