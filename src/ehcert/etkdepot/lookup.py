"""ETK lookup with the semantics of eHealth's GetEtk (``EtkDepot-v1.wsdl``).

A request names one to :data:`MAX_IDENTIFIERS` identifiers, each ``TYPE=VALUE`` with an
optional ``,APPLICATION_ID``. Each gets exactly one of the three GetEtkResponse choices:

- ``etk``: the holder's current ETK (the XSD's ``ETK``);
- ``matching``: no application id was given and the holder has no ETK without one, but
  has ETKs under application ids; the identifiers to ask for instead (``MatchingEtk``);
- ``error``: nothing is served for it (``Error``), a sentence naming the identifier.

Which ETK is "current": the most recently published one whose authentication
certificate is live (``store.etks``: revoked or expired ETKs are never served). After a
renewal the superseded ETK is therefore no longer served even while its certificate is
still valid: senders must encrypt to the new key, and the holder's keystore keeps the
old key for messages sealed before (DESIGN.md, "Renew"). GetEtk returns one ETK per
identifier, and so does this depot.

Identifier types: ``SSIN`` and ``NIHII`` for persons (a person's ETK is published under
the SSIN of the certificate; a NIHII is resolved to it through the registry at lookup
time), and the institution types of ``core.identifiers.INSTITUTION_TYPES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId, Nihii, Ssin, validate_application_id

MAX_IDENTIFIERS = 50


@dataclass(frozen=True, slots=True)
class EtkQuery:
    """One identifier of a lookup, validated on construction (ValueError naming it)."""

    type: str
    value: str
    application_id: str | None = None

    def __post_init__(self) -> None:
        if self.type == "SSIN":
            Ssin(self.value)
        elif self.type == "NIHII":
            Nihii(self.value)
        else:
            InstitutionId(self.type, self.value)
        if self.application_id is not None:
            validate_application_id(self.application_id)

    @classmethod
    def parse(cls, text: str) -> EtkQuery:
        """``TYPE=VALUE`` or ``TYPE=VALUE,APPLICATION_ID``."""
        if not isinstance(text, str):
            raise TypeError("an identifier must be a string")
        kind, sep, rest = text.strip().partition("=")
        if not sep:
            raise ValueError(f"identifier {text!r} must be written TYPE=VALUE[,APPLICATION_ID]")
        value, _, app = rest.partition(",")
        return cls(kind.strip().upper(), value.strip(), app.strip() or None)

    def __str__(self) -> str:
        base = f"{self.type}={self.value}"
        return f"{base},{self.application_id}" if self.application_id else base


def parse_queries(texts: Sequence[str]) -> list[EtkQuery]:
    """The identifiers of one request, in order, duplicates kept once; refusals name one."""
    if not texts:
        raise EhcertError(
            ErrorKind.MALFORMED,
            "Name at least one identifier, e.g. id=SSIN=79021802145.",
            field="id",
        )
    if len(texts) > MAX_IDENTIFIERS:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"At most {MAX_IDENTIFIERS} identifiers may be looked up at once, not {len(texts)}.",
            field="id",
        )
    queries: list[EtkQuery] = []
    for text in texts:
        try:
            query = EtkQuery.parse(text)
        except ValueError as error:
            raise EhcertError(
                ErrorKind.MALFORMED, f"The identifier {text!r} is invalid: {error}.", field="id"
            ) from error
        if query not in queries:
            queries.append(query)
    return queries


@dataclass(frozen=True, slots=True)
class ServedEtk:
    der: bytes
    holder: str
    encryption_serial: str
    authentication_serial: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    published_at: dt.datetime
    encryption_certificate_sha256: str
    # When the depot stops serving it by time alone (its end or its certificate's).
    served_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class EtkAnswer:
    query: EtkQuery
    etk: ServedEtk | None
    matching: tuple[EtkQuery, ...]
    error: str | None

    @property
    def served_until(self) -> dt.datetime | None:
        """When time alone ends this answer: the served ETK's end. None for "matching" and
        "error" answers, which change with a recorded decision (or, rarely, when an ETK
        published with a later start becomes valid: the lookup cache's lifetime bounds
        that)."""
        return self.etk.served_until if self.etk is not None else None


class EtkIndex(Protocol):
    def served(
        self, holder_type: str, holder_value: str, application_id: str | None, now: dt.datetime
    ) -> list[ServedEtk]: ...

    def served_application_ids(
        self, holder_type: str, holder_value: str, now: dt.datetime
    ) -> list[str]: ...


def look_up(
    index: EtkIndex,
    queries: Sequence[EtkQuery],
    now: dt.datetime,
    ssin_for_nihii: Callable[[str], str | None],
) -> list[EtkAnswer]:
    """One :class:`EtkAnswer` per query, in order (see the module docstring)."""
    return [_answer(index, query, now, ssin_for_nihii) for query in queries]


def _answer(
    index: EtkIndex,
    query: EtkQuery,
    now: dt.datetime,
    ssin_for_nihii: Callable[[str], str | None],
) -> EtkAnswer:
    holder_type, holder_value = query.type, query.value
    if query.type == "NIHII":
        ssin = ssin_for_nihii(query.value)
        if ssin is None:
            return EtkAnswer(query, None, (), f"No care provider has NIHII number {query.value}.")
        holder_type, holder_value = "SSIN", ssin
    served = index.served(holder_type, holder_value, query.application_id, now)
    if served:
        return EtkAnswer(query, served[0], (), None)
    if query.application_id is None:
        ids = index.served_application_ids(holder_type, holder_value, now)
        if ids:
            matching = tuple(EtkQuery(query.type, query.value, app) for app in ids)
            return EtkAnswer(query, None, matching, None)
    return EtkAnswer(query, None, (), f"No ETK is published for {query}.")
