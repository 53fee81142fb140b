"""CRL numbers: one strictly increasing counter per environment.

RFC 5280 section 5.2.3: the cRLNumber extension is a monotonically increasing sequence
number for a given CRL scope and issuer (at most 20 octets). Several API processes may sign
CRLs at once, so the increment is one atomic statement on both backends::

    INSERT INTO crl_numbers (environment, last_number) VALUES (:env, 1)
    ON CONFLICT (environment) DO UPDATE SET last_number = crl_numbers.last_number + 1
    RETURNING last_number
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ehcert.store.db import dialect_insert
from ehcert.store.models import ENVIRONMENTS, CrlNumberRow


def next_crl_number(session: Session, environment: str) -> int:
    """Reserve and return the next CRL number of ``environment`` (the first is 1)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}")
    insert = dialect_insert(session)
    statement = insert(CrlNumberRow).values(environment=environment, last_number=1)
    statement = statement.on_conflict_do_update(
        index_elements=[CrlNumberRow.environment],
        set_={"last_number": CrlNumberRow.last_number + 1},
    ).returning(CrlNumberRow.last_number)
    number = session.connection().execute(statement).scalar_one()
    return int(number)


class CrlNumbers:
    """The counters as an object, for code that passes repositories around."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def next(self, environment: str) -> int:
        return next_crl_number(self._session, environment)

    def last(self, environment: str) -> int | None:
        """The last number handed out, or None before the first CRL."""
        value = self._session.scalar(
            select(CrlNumberRow.last_number).where(CrlNumberRow.environment == environment)
        )
        return None if value is None else int(value)
