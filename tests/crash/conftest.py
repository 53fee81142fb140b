"""Fixtures of the crash tests: a CA hierarchy made in the past, a pool of CSR keys.

The driver (``crash_driver``) is a plain module next to this file, so that a longer run
than ``make test``'s (``make crash``) plays the very same code.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).parent))

from crash_driver import past_template

from ehcert.store.db import sqlite_url
from ehcert.store.testing import temporary_postgresql_database

# make test: a few rounds of a few dozen operations; make crash: EHCERT_CRASH_ROUNDS=10 ...
ROUNDS = int(os.environ.get("EHCERT_CRASH_ROUNDS", "3"))
OPERATIONS = int(os.environ.get("EHCERT_CRASH_OPERATIONS", "40"))
SEED = int(os.environ.get("EHCERT_CRASH_SEED", "20261206"))


@pytest.fixture(scope="session")
def crash_now() -> dt.datetime:
    """The served platform runs on the real clock; the seeding is relative to it."""
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="session")
def past_ca(tmp_path_factory: pytest.TempPathFactory, crash_now: dt.datetime) -> Path:
    return past_template(tmp_path_factory.mktemp("past-ca"), crash_now)


@pytest.fixture(scope="session")
def key_pool() -> list[ec.EllipticCurvePrivateKey]:
    """CSR keys for a whole run (every database is new, so each test may reuse them).

    EC P-256: the harness is about what a kill leaves behind, which does not depend on the
    key type, and making a pool of RSA keys took longer than the crashes themselves."""
    count = 40 + ROUNDS * OPERATIONS
    return [ec.generate_private_key(ec.SECP256R1()) for _ in range(count)]


@contextmanager
def database_url(backend: str, data_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_url(data_dir / "ehcert.db")
    else:
        with temporary_postgresql_database() as url:
            yield url
