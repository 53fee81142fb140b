"""The audit trail as every service writes to it: one narrow port and one refusal shape.

Every decision goes to the audit log, each refusal with its reason. Services write
through :class:`AuditSink` and never name a table; the store's unit of work
(``store.unit_of_work``) puts successes in the request's own transaction and writes
refusals after that transaction rolled back, in one of their own, so no refusal is
lost with the work it refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from ehcert.core.errors import EhcertError

REFUSED = "refused"
"""The action of every refusal record; ``detail["action"]`` names what was refused."""


class AuditSink(Protocol):
    def record(
        self, action: str, actor: str, subject: str, detail: dict[str, object], at: dt.datetime
    ) -> None: ...


def refusal_detail(action: str, error: EhcertError) -> dict[str, object]:
    """The detail of a refusal record: what was refused, the error kind, the sentence.

    Marks ``error`` as recorded: the edge audits only the refusals no service recorded.
    """
    error.recorded = True
    return {"action": action, "kind": error.kind.value, "reason": error.detail}
