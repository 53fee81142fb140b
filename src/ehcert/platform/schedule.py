"""Work the platform does by itself, on a schedule: today, the eHealthBox's retention.

Most of the platform's upkeep happens when it is needed, on the request that needs it:
the OCSP responder certificate renews itself before the signature that would need it
(``ca.service_certificates.OcspResponder.current``), a CRL is re-signed when asked for
after half its validity, a trust list is made when due. That cannot do for expired
eHealthBox messages: nobody asks for them, yet retention (``ehbox_retention_days``)
means they must go. A purge at each send alone would leave a quiet platform holding
mail past its expiration for as long as nobody sends.

:class:`Schedule` runs :class:`PeriodicJob` s: each is due at start and then every
``every`` by the platform's :class:`~ehcert.core.clock.Clock` (so a test moves a
``FixedClock`` and calls :meth:`Schedule.run_due`; nothing here reads the wall clock
for a decision). A background thread (:meth:`Schedule.running`, started by ``ehcert
serve`` and by each worker of ``serve --workers N``) wakes every ``tick_seconds`` of
real time and runs what is due. A job that fails is logged and tried again at its next
turn; it never stops the others or the thread. Several API processes may each run the
same job: the purge is safe to run concurrently (``store.ehbox``: ``SKIP LOCKED``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ehcert.core.clock import Clock

_log = logging.getLogger(__name__)

DEFAULT_TICK_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """A named piece of upkeep run every ``every``; ``run(now)`` says how much it did."""

    name: str
    every: dt.timedelta
    run: Callable[[dt.datetime], int]

    def __post_init__(self) -> None:
        if self.every <= dt.timedelta(0):
            raise ValueError(f"job {self.name} must run at a positive interval")


class Schedule:
    """The platform's periodic jobs, due by its clock (module docstring)."""

    def __init__(
        self,
        clock: Clock,
        jobs: Sequence[PeriodicJob],
        *,
        tick_seconds: float = DEFAULT_TICK_SECONDS,
    ) -> None:
        if tick_seconds <= 0:
            raise ValueError("tick_seconds must be positive")
        self._clock = clock
        self.jobs = tuple(jobs)
        self.tick_seconds = tick_seconds
        self._next_due: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def next_due(self, name: str) -> dt.datetime | None:
        """When job ``name`` runs next; None before its first run (due at once)."""
        return self._next_due.get(name)

    def run_due(self) -> dict[str, int]:
        """Run every job that is due now, once; what each did, by name."""
        done: dict[str, int] = {}
        with self._lock:
            for job in self.jobs:
                now = self._clock.now()
                due = self._next_due.get(job.name)
                if due is not None and now < due:
                    continue
                self._next_due[job.name] = now + job.every
                try:
                    done[job.name] = job.run(now)
                except Exception:  # one failing job must not stop the others
                    _log.exception(
                        "scheduled job %s failed; it runs again at its next turn", job.name
                    )
                    continue
                if done[job.name]:
                    _log.info("scheduled job %s: %d done", job.name, done[job.name])
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self.tick_seconds)

    def start(self) -> None:
        """Run the due jobs in a background thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ehcert-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the job it may be running."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)

    @contextmanager
    def running(self) -> Iterator[Schedule]:
        """The background thread for the duration of a block (``ehcert serve``)."""
        self.start()
        try:
            yield self
        finally:
            self.stop()
