"""Time enters ehcert only through a :class:`Clock` (DESIGN.md: no hidden clocks).

Business code takes ``now`` as an argument or a clock; tests pass a :class:`FixedClock`
so no test depends on today's date.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that says what it is told; ``advance`` moves it forward."""

    def __init__(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        self._moment = moment.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._moment

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        self._moment = moment.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> None:
        self._moment += delta
