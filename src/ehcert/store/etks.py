"""The ETK depot's tables: registration challenges and published ETKs.

Challenges follow the nonce rules (``store.nonces``, RFC 8555 section 6.5 style): random
id, short life, used at most once, enforced by one conditional UPDATE
(``used_at IS NULL AND expires_at > now``) whose row count says who won.

Published ETKs are read through :class:`EtkReader`, whose queries join the
authentication certificate's ledger row: an ETK is served only while that certificate is
``valid`` and inside its validity period, and while the ETK itself is. Revocation or
expiry of the certificate therefore withdraws the ETK in the same transaction that
records it, with no second write to forget. An ETK whose certificate was renewed
(another certificate names it as predecessor) is never served again, so senders never
fall back to a superseded key, not even when the renewal is revoked. The
``ix_etks_holder`` index and the certificates' primary key make a lookup two index
probes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import BindParameter, Select, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, violated_constraint
from ehcert.store.models import CertificateRow, EtkChallengeRow, EtkRow

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"[1-9][0-9]{0,63}")
# Upper bound of expired challenges one purge deletes (as ``store.nonces``).
PURGE_BATCH = 500


@dataclass(frozen=True, slots=True)
class EtkChallengeRecord:
    id: str
    authentication_serial: str
    encryption_der: bytes
    answer_sha256: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None


class EtkChallengeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create(
        self,
        challenge_id: str,
        *,
        authentication_serial: str,
        encryption_der: bytes,
        answer_sha256: str,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> dt.datetime:
        """Record a challenge that can be answered until ``now + ttl``; return that time."""
        if not isinstance(challenge_id, str) or not 16 <= len(challenge_id) <= 64:
            raise ValueError("a challenge id must be a string of 16 to 64 characters")
        if not _SHA256_HEX.fullmatch(answer_sha256):
            raise ValueError("answer_sha256 must be 64 lower-case hex digits")
        if ttl <= dt.timedelta(0):
            raise ValueError("a challenge's time to live must be positive")
        created = require_aware(now, "now")
        self._purge_expired(created)
        self._session.connection().execute(
            insert(EtkChallengeRow).values(
                id=challenge_id,
                authentication_serial=authentication_serial,
                encryption_der=bytes(encryption_der),
                answer_sha256=answer_sha256,
                created_at=created,
                expires_at=created + ttl,
                used_at=None,
            )
        )
        return created + ttl

    def get(self, challenge_id: str) -> EtkChallengeRecord | None:
        row = self._session.scalars(
            select(EtkChallengeRow)
            .where(EtkChallengeRow.id == challenge_id)
            .execution_options(populate_existing=True)
        ).one_or_none()
        if row is None:
            return None
        return EtkChallengeRecord(
            row.id,
            row.authentication_serial,
            bytes(row.encryption_der),
            row.answer_sha256,
            row.created_at,
            row.expires_at,
            row.used_at,
        )

    def consume(self, challenge_id: str, now: dt.datetime) -> EtkChallengeRecord | None:
        """Use the challenge once: its record for the one caller that may proceed, else None.

        None covers unknown, expired and already used challenges alike.
        """
        moment = require_aware(now, "now")
        result = self._session.execute(
            update(EtkChallengeRow)
            .where(
                EtkChallengeRow.id == challenge_id,
                EtkChallengeRow.used_at.is_(None),
                EtkChallengeRow.expires_at > moment,
            )
            .values(used_at=moment)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) != 1:
            return None
        return self.get(challenge_id)

    def _purge_expired(self, now: dt.datetime) -> None:
        expired = (
            select(EtkChallengeRow.id)
            .where(EtkChallengeRow.expires_at <= now)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        self._session.execute(
            delete(EtkChallengeRow)
            .where(EtkChallengeRow.id.in_(expired))
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True, slots=True)
class NewEtk:
    """What the depot publishes after a successful registration."""

    holder_type: str
    holder_value: str
    application_id: str | None
    encryption_serial: str
    encryption_key_sha256: str
    encryption_certificate_sha256: str
    authentication_serial: str
    subject_dn: str
    der: bytes
    not_before: dt.datetime
    not_after: dt.datetime
    published_at: dt.datetime

    def __post_init__(self) -> None:
        if not _DECIMAL.fullmatch(self.encryption_serial):
            raise ValueError("encryption_serial must be a positive decimal number")
        for name in ("encryption_key_sha256", "encryption_certificate_sha256"):
            if not _SHA256_HEX.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must be 64 lower-case hex digits")
        if require_aware(self.not_after, "not_after") <= require_aware(
            self.not_before, "not_before"
        ):
            raise ValueError("not_after must be after not_before")
        require_aware(self.published_at, "published_at")
        if not isinstance(self.der, bytes) or not self.der:
            raise ValueError("der must be the non-empty DER encoding of the ETK")


@dataclass(frozen=True, slots=True)
class EtkRecord:
    holder_type: str
    holder_value: str
    application_id: str | None
    encryption_serial: str
    encryption_certificate_sha256: str
    authentication_serial: str
    subject_dn: str
    der: bytes
    not_before: dt.datetime
    not_after: dt.datetime
    published_at: dt.datetime
    # When this ETK stops being served unless something changes first: its own end or its
    # authentication certificate's, the earlier (set by the "served" queries only).
    served_until: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: EtkRow, certificate_not_after: dt.datetime | None = None) -> EtkRecord:
        served_until = None
        if certificate_not_after is not None:
            served_until = min(row.not_after, certificate_not_after)
        return cls(
            row.holder_type,
            row.holder_value,
            row.application_id,
            row.encryption_serial,
            row.encryption_certificate_sha256,
            row.authentication_serial,
            row.subject_dn,
            bytes(row.der),
            row.not_before,
            row.not_after,
            row.published_at,
            served_until,
        )


def _served_statement() -> Select[EtkRow, dt.datetime]:
    """ETKs servable at the bound ``moment``, with their certificate's end (module doc).

    Built once, with bound parameters, so SQLAlchemy compiles it once and every lookup
    only binds values (building it with an alias and an EXISTS cost milliseconds)."""
    moment: BindParameter[dt.datetime] = bindparam("moment")
    successor = aliased(CertificateRow)
    superseded = (
        select(successor.id)
        .where(successor.predecessor_serial_hex == EtkRow.authentication_serial)
        .exists()
    )
    return (
        select(EtkRow, CertificateRow.not_after)
        .join(
            CertificateRow,
            and_(
                CertificateRow.serial_hex == EtkRow.authentication_serial,
                CertificateRow.status == "valid",
                CertificateRow.not_before <= moment,
                CertificateRow.not_after >= moment,
            ),
        )
        .where(EtkRow.not_before <= moment, EtkRow.not_after >= moment)
        # A renewed certificate's ETK is never served again, even if the renewal is
        # later revoked: senders must not fall back to a superseded key.
        .where(~superseded)
        .where(
            EtkRow.holder_type == bindparam("holder_type"),
            EtkRow.holder_value == bindparam("holder_value"),
        )
    )


_SERVED = _served_statement()
_SERVED_WITHOUT_APPLICATION = _SERVED.where(EtkRow.application_id.is_(None)).order_by(
    EtkRow.published_at.desc(), EtkRow.id.desc()
)
_SERVED_FOR_APPLICATION = _SERVED.where(
    EtkRow.application_id == bindparam("application_id")
).order_by(EtkRow.published_at.desc(), EtkRow.id.desc())
_SERVED_APPLICATION_IDS = _SERVED.where(EtkRow.application_id.is_not(None))


class EtkReader:
    """Read-only queries; every "served" query applies the withdrawal rule (module doc)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def served(
        self, holder_type: str, holder_value: str, application_id: str | None, now: dt.datetime
    ) -> list[EtkRecord]:
        """Servable ETKs of exactly this holder (``None``: the one without app id), newest
        publication first."""
        holder = _holder(holder_type, holder_value, now)
        if application_id is None:
            rows = self._session.execute(_SERVED_WITHOUT_APPLICATION, holder)
        else:
            rows = self._session.execute(
                _SERVED_FOR_APPLICATION, {**holder, "application_id": application_id}
            )
        return [
            EtkRecord.from_row(row, certificate_not_after) for row, certificate_not_after in rows
        ]

    def served_application_ids(
        self, holder_type: str, holder_value: str, now: dt.datetime
    ) -> list[str]:
        """Application ids under which this holder has a servable ETK, sorted."""
        rows = self._session.scalars(
            _SERVED_APPLICATION_IDS, _holder(holder_type, holder_value, now)
        )
        ids = {row.application_id for row in rows}
        return sorted(value for value in ids if value is not None)

    def by_authentication_serial(self, serial_hex: str) -> EtkRecord | None:
        row = self._session.scalars(
            select(EtkRow).where(EtkRow.authentication_serial == serial_hex)
        ).one_or_none()
        return EtkRecord.from_row(row) if row is not None else None


class EtkRepository(EtkReader):
    def publish(self, etk: NewEtk) -> EtkRecord:
        """Publish ``etk``, replacing an earlier ETK of the same authentication certificate.

        A certificate vouches for one encryption key at a time; registering again (a lost
        encryption key) supersedes the earlier registration. An encryption key already
        published for another certificate is refused (CONFLICT).
        """
        if not isinstance(etk, NewEtk):
            raise TypeError("publish expects a NewEtk")
        self._session.execute(
            delete(EtkRow)
            .where(EtkRow.authentication_serial == etk.authentication_serial)
            .execution_options(synchronize_session=False)
        )
        try:
            self._session.connection().execute(
                insert(EtkRow).values(
                    holder_type=etk.holder_type,
                    holder_value=etk.holder_value,
                    application_id=etk.application_id,
                    encryption_serial=etk.encryption_serial,
                    encryption_key_sha256=etk.encryption_key_sha256,
                    encryption_certificate_sha256=etk.encryption_certificate_sha256,
                    authentication_serial=etk.authentication_serial,
                    subject_dn=etk.subject_dn,
                    der=etk.der,
                    not_before=etk.not_before,
                    not_after=etk.not_after,
                    published_at=etk.published_at,
                )
            )
        except IntegrityError as error:
            if "encryption_key_sha256" in violated_constraint(error):
                raise EhcertError(
                    ErrorKind.CONFLICT,
                    "This encryption key is already published in an ETK; every ETK needs a "
                    "new encryption key.",
                    field="encryption_certificate",
                ) from error
            raise
        stored = self.by_authentication_serial(etk.authentication_serial)
        if stored is None:  # pragma: no cover - the insert above succeeded
            raise AssertionError("published ETK not found")
        return stored


def _holder(holder_type: str, holder_value: str, now: dt.datetime) -> dict[str, object]:
    return {
        "moment": require_aware(now, "now"),
        "holder_type": holder_type,
        "holder_value": holder_value,
    }
