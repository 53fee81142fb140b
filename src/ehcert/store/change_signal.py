"""When may an answer made earlier still be served? The store's change signal.

The platform keeps answers that are asked for far more often than they change (OCSP
responses, GetEtk answers) and must drop them at once when a decision changes them:
"OCSP and CRL reflect [a revocation] at once; the ETK stops being served" (DESIGN.md).
Every such decision is recorded in the audit log (``store.audit``), in the transaction
that makes it, so "has anything been decided since?" is the question, and
:meth:`ChangeSignal.token` answers it cheaply enough to ask on every request:

- **in this process**: a transaction that appended an audit record moves the token as
  soon as it commits (``Database.session`` calls back; :meth:`ChangeSignal.decided`);
- **other processes, SQLite**: the audit head (sequence number and hash) is read on a
  connection of its own: one indexed read of one row, in WAL mode never blocked by a
  writer, about ten microseconds, which is more than a kept answer costs otherwise; so
  it is read again at most once a millisecond (``core.recent``), and another process's
  decision shows within that millisecond: about what a NOTIFY takes to arrive on
  PostgreSQL, and the same bound for both stores (docs/operator-guide.md);
- **other processes, PostgreSQL**: the audit append also sends ``NOTIFY`` on the
  channel ``DECISION_CHANNEL``, which PostgreSQL delivers when the transaction commits;
  a listener thread moves the token. While the listener is not connected, every call returns a new
  token, so nothing kept is served until it listens again.

A reader takes the token **before** it reads what it keeps, so an answer is never kept
under a token newer than the state it was built from.

``Database.dispose`` closes what the signal opened; a database used again afterwards (the
engine reconnects by itself) gets the signal's connection or listener back at the next
token, and that reopening counts as a change: what happened while it was closed is unseen.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Hashable

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.pool import PoolProxiedConnection

from ehcert.core.recent import RecentValue
from ehcert.store.db import DECISION_CHANNEL, Database

_RECONNECT_SECONDS = 1.0

log = logging.getLogger(__name__)


class ChangeSignal:
    """A token that changes whenever a recorded decision may have changed an answer."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._local = 0
        self._listening = False
        self._unheard = itertools.count()
        self._closed = threading.Event()
        self._open = False
        self._sqlite: PoolProxiedConnection | None = None
        self._head = RecentValue(self._read_head)
        database.on_decision(self.decided)
        with self._lock:
            self._reopen()

    def _reopen(self) -> None:
        """Open the connection or the listener (under the lock), as a change."""
        self._open = True
        self._local += 1
        self._listening = False
        self._closed = threading.Event()
        self._database.on_dispose(self.close)
        if self._database.dialect == "postgresql":
            listener = threading.Thread(
                target=self._listen, args=(self._closed,), name="ehcert-change-signal",
                daemon=True,
            )  # fmt: skip
            listener.start()
        elif self._database.dialect == "sqlite":
            self._sqlite = self._database.engine.raw_connection()
            self._head.forget()

    def decided(self) -> None:
        """A decision was committed (in this process, or announced by another)."""
        with self._lock:
            self._local += 1

    def token(self) -> Hashable:
        """Equal to an earlier token only if no decision was committed in between."""
        with self._lock:
            if not self._open:
                self._reopen()
            local = self._local
            if self._sqlite is not None:
                return (local, self._head.get())
            if self._database.dialect == "postgresql" and not self._listening:
                return ("unheard", next(self._unheard))
            return (local,)

    def _read_head(self) -> object:
        """The audit head as the signal's own SQLite connection sees it (under the lock)."""
        assert self._sqlite is not None
        cursor = self._sqlite.cursor()
        try:
            cursor.execute("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")
            return cursor.fetchone()
        finally:
            cursor.close()

    def close(self) -> None:
        """Stop listening and close the signal's own connection (``Database.dispose``)."""
        with self._lock:
            self._open = False
            self._closed.set()
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    def _listen(self, closed: threading.Event) -> None:
        url = make_url(self._database.url).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        outage_reported = False  # one warning per outage, not one per retry
        while not closed.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {DECISION_CHANNEL}")
                    with self._lock:
                        self._listening = closed is self._closed  # not a closed one's
                        self._local += 1  # whatever happened while deaf is "a change"
                    if outage_reported:
                        log.warning("change signal: listening to PostgreSQL again")
                        outage_reported = False
                    while not closed.is_set():
                        for _ in connection.notifies(timeout=0.5, stop_after=1):
                            self.decided()
            except psycopg.Error as error:
                if not outage_reported:
                    log.warning(
                        "change signal: not listening to PostgreSQL (%s); retrying every %s s "
                        "(kept answers are not served meanwhile)", error, _RECONNECT_SECONDS,
                    )  # fmt: skip
                    outage_reported = True
                else:
                    log.debug("change signal: still not listening to PostgreSQL (%s)", error)
            finally:
                with self._lock:
                    if closed is self._closed:
                        self._listening = False
            closed.wait(_RECONNECT_SECONDS)
