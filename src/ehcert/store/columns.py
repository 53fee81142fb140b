"""Column types shared by the models: timezone-aware UTC timestamps on every backend.

PostgreSQL keeps ``timestamptz`` natively; SQLite has no date type at all and SQLAlchemy
stores an ISO string *without* the offset. :class:`UtcDateTime` makes both behave the same:
it refuses naive datetimes (a naive time is a bug: DESIGN.md says time comes in as an
argument, always aware), converts to UTC before binding, and returns aware UTC datetimes.
Stored SQLite strings are fixed-width UTC, so ``<``/``>`` comparisons in SQL stay correct.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def require_aware(value: dt.datetime, field: str = "time") -> dt.datetime:
    """Return ``value`` in UTC, refusing naive datetimes with ``ValueError``."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A ``DateTime(timezone=True)`` that always binds and returns aware UTC values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        utc = require_aware(value)
        if dialect.name == "sqlite":
            # SQLite's DATETIME storage drops the offset; store naive UTC explicitly.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
