"""GetEtk answers made once and served until something changes.

ETKs are looked up far more often than they change, and a lookup costs two indexed
queries per identifier plus rendering. So the depot keeps each request's rendered answer
(body and ETag, prepared by the HTTP edge) with the two things that end it:

- the change token it was made under (``store.change_signal``): every decision that can
  change an answer (an ETK published, a certificate revoked or renewed, a NIHII number
  moved in the registry) is recorded in the audit log, which moves the token in every
  process, so a kept answer is served only while nothing has been decided since;
- ``until``: the earliest moment time alone ends it (a served ETK or its certificate
  expiring), and at most :data:`LIFETIME` after it was made, which bounds the one change
  no decision announces (an ETK published with a later start becoming valid).

Answers are never re-verified per request: what is kept was built from the store's
answer under that token. The cache is per process and bounded (least recently used out).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P")

LIFETIME = dt.timedelta(seconds=60)
MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class _Kept(Generic[P]):
    head: Hashable
    made_at: dt.datetime
    until: dt.datetime
    value: P


class PreparedAnswers(Generic[P]):
    """A bounded map from a request to its prepared answer, valid for one change token."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._kept: OrderedDict[Hashable, _Kept[P]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, head: Hashable, now: dt.datetime) -> P | None:
        """The answer kept for ``key`` if it was made under ``head`` and still holds."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if kept.head != head or not kept.made_at <= now < kept.until:
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return kept.value

    def put(
        self,
        key: Hashable,
        head: Hashable,
        now: dt.datetime,
        value: P,
        ends: list[dt.datetime],
    ) -> None:
        """Keep ``value`` made under ``head`` at ``now``; ``ends``: moments it stops holding."""
        until = min([*ends, now + LIFETIME])
        with self._lock:
            self._kept[key] = _Kept(head, now, until, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self._max:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
