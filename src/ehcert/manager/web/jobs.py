"""Long operations in the background, with progress a page can show.

Generating a 2048-bit RSA key, talking to the platform and writing a keystore under
600 000 PBKDF2 iterations take seconds; a form that just hangs makes people click
again. So a flow starts a :class:`Job` in a thread and redirects to its page, which
refreshes itself (``<meta http-equiv="refresh">``, no JavaScript) and lists the steps
done, the current one and what remains, until the job ends with a result or a refusal.

A job belongs to the session that started it: its id is random and the page checks the
owner, so one browser cannot read another's results.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ehcert.core.errors import EhcertError, ErrorKind

StepReporter = Callable[[str], None]
Work = Callable[[StepReporter], dict[str, Any]]


@dataclass
class Job:
    """One background operation; ``steps`` are codes the page translates."""

    job_id: str
    session_id: str
    kind: str
    steps: tuple[str, ...]
    current: str | None = None
    finished: bool = False
    error: EhcertError | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def step_states(self) -> list[tuple[str, str]]:
        """``(step, "done" | "current" | "waiting")`` for each step, in order."""
        if self.finished and self.error is None:
            return [(step, "done") for step in self.steps]
        position = self.steps.index(self.current) if self.current in self.steps else -1
        states = []
        for index, step in enumerate(self.steps):
            if index < position:
                states.append((step, "done"))
            elif index == position:
                states.append((step, "current"))
            else:
                states.append((step, "waiting"))
        return states


class JobRunner:
    """Starts jobs in daemon threads and keeps them for their pages."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, session_id: str, kind: str, steps: tuple[str, ...], work: Work) -> Job:
        job = Job(secrets.token_urlsafe(16), session_id, kind, steps)
        with self._lock:
            self._jobs[job.job_id] = job

        def report(step: str) -> None:
            job.current = step

        def run() -> None:
            try:
                job.result = work(report)
            except EhcertError as exc:
                job.error = exc
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                job.error = EhcertError(ErrorKind.INTERNAL, f"A file operation failed: {reason}.")
            except Exception as exc:  # a bug: the page must still end, not spin forever
                job.error = EhcertError(ErrorKind.INTERNAL, f"Unexpected error: {exc!r}.")
            finally:
                job.finished = True

        threading.Thread(target=run, name=f"ehcert-job-{kind}", daemon=True).start()
        return job

    def get(self, job_id: str, session_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not secrets.compare_digest(job.session_id, session_id):
            return None
        return job
