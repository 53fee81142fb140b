"""A value read again only once it is older than a bound: cheap "has it changed?" checks.

Kept answers (OCSP responses, GetEtk answers) are served tens of thousands of times a
second, and each must still notice what another process changed: a decision recorded
in a shared SQLite file, an operator's key rotation recorded in the CA folder. Reading
the file or the row on every request costs more than the answer. Reading it at most
once per ``max_age`` seconds means another process's change is seen at most that late.
A millisecond is about what a PostgreSQL NOTIFY takes to arrive, so both stores get the
same bound, and the many requests in between cost a clock read.

A change made by this process is not this module's concern: the callers move their own
token at once for those (``store.change_signal``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

OTHER_PROCESS_DELAY_SECONDS = 0.001
"""How long a change made by another process may go unseen by a kept answer."""


class RecentValue(Generic[T]):
    """``read()``'s result, read again when the last reading is ``max_age`` seconds old.

    Not locked: two threads may both read at the boundary, and the slower one may then
    store its older reading over the newer one; either way every reading served is at
    most ``max_age`` older than the moment it is served, which is all this promises.
    The elapsed time is the monotonic clock's, not the platform's (a clock moved by an
    operator or a test must not stop the readings)."""

    def __init__(
        self,
        read: Callable[[], T],
        max_age: float = OTHER_PROCESS_DELAY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age
        self._monotonic = monotonic
        self._last: tuple[float, T] | None = None  # when read, what was read

    def get(self) -> T:
        moment = self._monotonic()
        last = self._last
        if last is None or moment - last[0] >= self._max_age:
            last = (moment, self._read())
            self._last = last
        return last[1]

    def forget(self) -> None:
        """The next :meth:`get` reads (after a reconnection, say)."""
        self._last = None
