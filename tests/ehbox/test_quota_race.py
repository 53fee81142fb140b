"""Two concurrent sends to a box near its quota: one fits, the other is refused.

Each send checks the boxes' sizes and then writes its message in one transaction; the
boxes are locked before the sizes are read (``EhboxStore.lock_boxes``), so the second
send waits for the first to commit and sees its message. The two sends run in two
threads with their own sessions, on SQLite and on PostgreSQL; each holds its
transaction open while its parts stream in and waits there (up to a second) for the
other to get as far, which is exactly the interleaving in which both would pass an
unlocked check.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.core.identity import Identity
from ehcert.ehbox.model import BoxId, Publication, parse_publication
from ehcert.ehbox.service import EhboxLimits, EhboxService
from ehcert.registry.service import RegistryService
from ehcert.store.db import Database
from ehcert.store.ehbox import EhboxStore
from ehcert.store.testing import example_ssin
from ehcert.store.unit_of_work import Transactions

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
PART = b"sealed bytes, opaque to the box" * 32
RECIPIENT, SENDER_1, SENDER_2 = example_ssin(31), example_ssin(32), example_ssin(33)


class MeetingSource:
    """The sealed part of one send; the first read waits (at most ``patience`` seconds)
    until the other send has reached its own first read."""

    def __init__(self, meeting: threading.Barrier, data: bytes) -> None:
        self._meeting = meeting
        self._data = data
        self._offset = 0

    def read(self, size: int) -> bytes:
        if self._offset == 0:
            # Broken after a second: the other send waits for this one's lock, as it should.
            with contextlib.suppress(threading.BrokenBarrierError):
                self._meeting.wait()
        chunk = self._data[self._offset : self._offset + size]
        self._offset += len(chunk)
        return chunk


def _identity(ssin: str) -> Identity:
    return Identity("certificate", ssin, ssin, "01", Holder("SSIN", ssin))


def _publication(publication_id: str) -> Publication:
    return parse_publication(
        {
            "publication_id": publication_id,
            "destinations": [{"box": f"SSIN={RECIPIENT}"}],
            "document": {
                "title": "Lab results",
                "download_file_name": "results.pdf",
                "mime_type": "application/pdf",
            },
            "parts": [
                {"name": "document", "size": len(PART), "sha256": hashlib.sha256(PART).hexdigest()}
            ],
        },
        max_recipients=100,
    )


@pytest.fixture
def near_full(database: Database) -> EhboxService:
    registry = RegistryService(database)
    for ssin in (RECIPIENT, SENDER_1, SENDER_2):
        registry.add_provider(ssin, None, "doctor", "Test", ssin, now=T0)
    # Room for one message in the recipient's box, not for two.
    limits = EhboxLimits(max_box_bytes=len(PART) * 3 // 2)
    return EhboxService(Transactions(database), lambda _box, _now: True, limits)


def test_two_concurrent_sends_never_both_pass_the_quota(
    near_full: EhboxService, database: Database
) -> None:
    meeting = threading.Barrier(2, timeout=1.0)

    def send(sender: str, publication_id: str) -> str:
        sent = near_full.send(
            _identity(sender),
            _publication(publication_id),
            MeetingSource(meeting, PART),
            T0,
        )
        return sent.message_id

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(send, SENDER_1, "race1"), pool.submit(send, SENDER_2, "race2")]
        outcomes = [f.exception() or f.result() for f in futures]

    sent = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, EhcertError)]
    assert len(sent) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert refused[0].kind is ErrorKind.PAYLOAD_TOO_LARGE
    assert f"SSIN={RECIPIENT}:doctor" in str(refused[0])
    with database.session() as session:
        assert EhboxStore(session).box_size(str(BoxId("SSIN", RECIPIENT, "doctor"))) == len(PART)
