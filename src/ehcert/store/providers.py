"""Care providers of the authentic source: single-row reads and writes, and the bulk
operations the CSV import needs (look up many, upsert many).

The store keeps ``withdrawn_at`` consistent with ``status`` (a CHECK constraint says so):
the moment of withdrawal is kept while a provider stays withdrawn and cleared when the
provider is reinstated. Everything else (which changes are allowed) is the registry's call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    any_,
    bindparam,
    case,
    func,
    insert,
    null,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Profession
from ehcert.store.columns import UtcDateTime, require_aware
from ehcert.store.db import affected_rows, violated_constraint
from ehcert.store.models import ProviderRow

_RECORD_COLUMNS = (
    ProviderRow.ssin,
    ProviderRow.nihii,
    ProviderRow.profession,
    ProviderRow.first_name,
    ProviderRow.last_name,
    ProviderRow.status,
    ProviderRow.created_at,
    ProviderRow.updated_at,
    ProviderRow.withdrawn_at,
)
UPDATABLE_FIELDS = frozenset({"nihii", "profession", "first_name", "last_name", "status"})


class ProviderStatus(StrEnum):
    """Status in the authentic source; only ``validated`` providers may get certificates."""

    VALIDATED = "validated"
    PENDING = "pending"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    ssin: str
    nihii: str | None
    profession: Profession
    first_name: str
    last_name: str
    status: ProviderStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    withdrawn_at: dt.datetime | None

    @property
    def is_withdrawn(self) -> bool:
        return self.status is ProviderStatus.WITHDRAWN

    @classmethod
    def from_row(cls, row: ProviderRow) -> ProviderRecord:
        return cls(
            ssin=row.ssin,
            nihii=row.nihii,
            profession=Profession(row.profession),
            first_name=row.first_name,
            last_name=row.last_name,
            status=ProviderStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            withdrawn_at=row.withdrawn_at,
        )


@dataclass(frozen=True, slots=True)
class ProviderData:
    """One provider's registry data, already validated (by the registry)."""

    ssin: str
    nihii: str | None
    profession: Profession
    first_name: str
    last_name: str
    status: ProviderStatus


def _refusal(error: IntegrityError, ssin: str, nihii: str | None) -> EhcertError | None:
    violated = violated_constraint(error)
    if "nihii" in violated and "length" not in violated:
        return EhcertError(
            ErrorKind.CONFLICT,
            f"NIHII number {nihii} already belongs to another provider.",
            field="nihii",
        )
    if "ssin" in violated and "length" not in violated:
        return EhcertError(
            ErrorKind.CONFLICT,
            f"A provider with SSIN {ssin} is already registered.",
            field="ssin",
        )
    return None


class ProviderRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _one(self, criterion: ColumnElement[bool]) -> ProviderRecord | None:
        row = self._session.scalars(
            select(ProviderRow).where(criterion).execution_options(populate_existing=True)
        ).one_or_none()
        return None if row is None else ProviderRecord.from_row(row)

    def by_ssin(self, ssin: str) -> ProviderRecord | None:
        return self._one(ProviderRow.ssin == ssin)

    def by_nihii(self, nihii: str) -> ProviderRecord | None:
        return self._one(ProviderRow.nihii == nihii)

    def add(self, data: ProviderData, now: dt.datetime) -> ProviderRecord:
        """Insert a new provider; CONFLICT if the SSIN or the NIHII number is taken."""
        moment = require_aware(now, "now")
        withdrawn_at = moment if data.status is ProviderStatus.WITHDRAWN else None
        try:
            self._session.connection().execute(
                insert(ProviderRow).values(
                    ssin=data.ssin,
                    nihii=data.nihii,
                    profession=data.profession.value,
                    first_name=data.first_name,
                    last_name=data.last_name,
                    status=data.status.value,
                    created_at=moment,
                    updated_at=moment,
                    withdrawn_at=withdrawn_at,
                )
            )
        except IntegrityError as error:
            refusal = _refusal(error, data.ssin, data.nihii)
            if refusal is None:
                raise
            raise refusal from error
        return ProviderRecord(
            data.ssin,
            data.nihii,
            data.profession,
            data.first_name,
            data.last_name,
            data.status,
            moment,
            moment,
            withdrawn_at,
        )

    def update(
        self, ssin: str, changes: Mapping[str, str | None], now: dt.datetime
    ) -> ProviderRecord | None:
        """Apply ``changes`` (column -> new value); None if no provider has ``ssin``."""
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update provider fields {sorted(unknown)}")
        moment = require_aware(now, "now")
        values: dict[str, object] = {**changes, "updated_at": moment}
        if "status" in changes:
            values["withdrawn_at"] = (
                func.coalesce(ProviderRow.withdrawn_at, moment)
                if changes["status"] == ProviderStatus.WITHDRAWN.value
                else null()
            )
        try:
            result = self._session.execute(
                update(ProviderRow)
                .where(ProviderRow.ssin == ssin)
                .values(values)
                .execution_options(synchronize_session=False)
            )
        except IntegrityError as error:
            refusal = _refusal(error, ssin, changes.get("nihii"))
            if refusal is None:
                raise
            raise refusal from error
        if affected_rows(result) != 1:
            return None
        return self.by_ssin(ssin)

    # -- bulk operations for imports -------------------------------------------------

    def existing(self, ssins: Collection[str], nihiis: Collection[str]) -> list[ProviderRecord]:
        """Providers whose SSIN is in ``ssins`` or whose NIHII number is in ``nihiis``.

        On PostgreSQL the keys travel as two array parameters (``= ANY(:keys)``) rather
        than thousands of ``IN`` placeholders, which keeps large batches cheap to send,
        and as the UNION of one lookup per unique index: with the two conditions ORed in
        one WHERE, PostgreSQL scans the whole table for every batch (77 ms for a batch of
        2,000 keys among 250,000 providers, 8 ms as a UNION; ``bench/bench_scale.py``).
        """
        if not ssins and not nihiis:
            return []
        statement: Any
        if self._session.get_bind().dialect.name == "postgresql":
            statement = union(
                select(*_RECORD_COLUMNS).where(
                    ProviderRow.ssin == any_(bindparam("ssins", list(ssins), type_=ARRAY(String)))
                ),
                select(*_RECORD_COLUMNS).where(
                    ProviderRow.nihii
                    == any_(bindparam("nihiis", list(nihiis), type_=ARRAY(String)))
                ),
            )
        else:
            statement = select(*_RECORD_COLUMNS).where(
                or_(ProviderRow.ssin.in_(list(ssins)), ProviderRow.nihii.in_(list(nihiis)))
            )
        rows = self._session.execute(statement)
        return [
            ProviderRecord(
                ssin=ssin,
                nihii=nihii,
                profession=Profession(profession),
                first_name=first_name,
                last_name=last_name,
                status=ProviderStatus(status),
                created_at=created_at,
                updated_at=updated_at,
                withdrawn_at=withdrawn_at,
            )
            for (
                ssin,
                nihii,
                profession,
                first_name,
                last_name,
                status,
                created_at,
                updated_at,
                withdrawn_at,
            ) in rows
        ]

    def upsert_many(self, providers: Sequence[ProviderData], now: dt.datetime) -> None:
        """Insert or update many providers by SSIN with ``INSERT ... ON CONFLICT``.

        The caller guarantees that SSINs and NIHII numbers are unique within the batch
        and that no NIHII number belongs to a provider with a different SSIN.

        PostgreSQL gets the whole batch as one statement over ``unnest`` of six array
        parameters (one round trip, one parse); SQLite gets one prepared statement run
        for every row by the driver (``executemany``, a loop in C, no network).
        """
        if not providers:
            return
        moment = require_aware(now, "now")
        connection = self._session.connection()
        if connection.dialect.name == "postgresql":
            arrays = {
                f"{name}_values": [_text_of(provider, name) for provider in providers]
                for name in _BULK_COLUMNS
            }
            connection.execute(_postgresql_bulk_upsert(), {**arrays, "moment": moment})
            return
        rows = [
            {
                **{name: _text_of(provider, name) for name in _BULK_COLUMNS},
                "created_at": moment,
                "updated_at": moment,
                "withdrawn_at": moment if provider.status is ProviderStatus.WITHDRAWN else None,
            }
            for provider in providers
        ]
        statement = sqlite.insert(ProviderRow)
        connection.execute(statement.on_conflict_do_update(**_on_conflict(statement)), rows)


_BULK_COLUMNS = ("ssin", "nihii", "profession", "first_name", "last_name", "status")


def _text_of(provider: ProviderData, name: str) -> str | None:
    """The column value as plain text (enum members by value, for every driver)."""
    value: str | None = getattr(provider, name)
    return value.value if isinstance(value, StrEnum) else value


def _on_conflict(statement: postgresql.Insert | sqlite.Insert) -> dict[str, Any]:
    """``ON CONFLICT (ssin) DO UPDATE``: same data, keep created_at and a withdrawal date."""
    excluded = statement.excluded
    return {
        "index_elements": [ProviderRow.ssin],
        "set_": {
            "nihii": excluded.nihii,
            "profession": excluded.profession,
            "first_name": excluded.first_name,
            "last_name": excluded.last_name,
            "status": excluded.status,
            "updated_at": excluded.updated_at,
            "withdrawn_at": case(
                (
                    excluded.status == ProviderStatus.WITHDRAWN.value,
                    func.coalesce(ProviderRow.withdrawn_at, excluded.withdrawn_at),
                ),
                else_=null(),
            ),
        },
    }


def _postgresql_bulk_upsert() -> postgresql.Insert:
    source = (
        func.unnest(*(bindparam(f"{name}_values", type_=ARRAY(String)) for name in _BULK_COLUMNS))
        .table_valued(*_BULK_COLUMNS)
        .render_derived(name="source")
    )
    moment = bindparam("moment", type_=UtcDateTime())
    rows = select(
        *(source.c[name] for name in _BULK_COLUMNS),
        moment,
        moment,
        case((source.c.status == ProviderStatus.WITHDRAWN.value, moment), else_=null()),
    )
    statement = postgresql.insert(ProviderRow).from_select(
        [*_BULK_COLUMNS, "created_at", "updated_at", "withdrawn_at"], rows
    )
    return statement.on_conflict_do_update(**_on_conflict(statement))
