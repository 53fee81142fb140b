"""Throwaway databases for tests of any context that needs a store (both backends).

Every test of the store, the registry and the services built on them runs against SQLite
*and* PostgreSQL. :func:`temporary_postgresql_database` creates a database with a random
name next to the one in the base URL and drops it afterwards; :func:`reset_tables` empties
every table between tests so a database (and its migration) is made once per module.

A PostgreSQL server that cannot be reached raises :class:`PostgresUnavailable`; test
fixtures turn that into a failure, never a skip, so a missing server cannot hide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import delete, insert, text
from sqlalchemy.engine import make_url

from ehcert.store.db import DECIDED, DECISION_CHANNEL, Database
from ehcert.store.models import GENESIS_HASH, AuditHeadRow, Base

DEFAULT_TEST_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server of the tests cannot be reached."""


def postgresql_test_url() -> str:
    """``EHCERT_TEST_PG_URL`` if set, else the local default server."""
    return os.environ.get("EHCERT_TEST_PG_URL") or DEFAULT_TEST_PG_URL


@contextmanager
def temporary_postgresql_database(base_url: str | None = None) -> Iterator[str]:
    """Create ``ehcert_test_<random>`` on the server of ``base_url``; yield its URL; drop it."""
    url = make_url(base_url or postgresql_test_url())
    name = f"ehcert_test_{secrets.token_hex(6)}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise PostgresUnavailable(
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is not reachable: {error}"
        ) from error
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def reset_tables(database: Database) -> None:
    """Delete every row (children first) and put the audit chain back at its genesis.

    Counted as a decision (``store.change_signal``): every answer kept from before is
    dropped, as after any change it could not see.
    """
    with database.session() as session:
        session.info[DECIDED] = True
        if database.dialect == "postgresql":
            session.execute(text(f"NOTIFY {DECISION_CHANNEL}"))
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        session.execute(insert(AuditHeadRow).values(id=1, last_seq=0, last_hash=GENESIS_HASH))


def example_ssin(index: int) -> str:
    """A valid SSIN, different for every ``index`` below 10**8 (tests and benchmarks).

    Below 32000 the nine-digit base is ``600000000 + index`` (month 00, day 00-31: birth
    date unknown), as it always was. Above, ``index`` is spelled out as a serial
    (001-997), a day (01-28), a month (01-12, so never one of the first kind), a year
    (from 60, round the century) and, past the first 33 million, a BIS month offset (+20,
    +40), so every number has the form :class:`ehcert.core.identifiers.Ssin` requires.
    The check digits follow the pre-2000 rule.
    """
    if not 0 <= index < 10**8:
        raise ValueError("index must be between 0 and 10**8 - 1")
    if index < 32_000:
        base = 600_000_000 + index
        return f"{base:09d}{97 - base % 97:02d}"
    rest, serial = divmod(index, 997)
    rest, day = divmod(rest, 28)
    rest, month = divmod(rest, 12)
    offset, year = divmod(rest, 100)
    base = int(f"{(60 + year) % 100:02d}{month + 1 + 20 * offset:02d}{day + 1:02d}{serial + 1:03d}")
    return f"{base:09d}{97 - base % 97:02d}"
