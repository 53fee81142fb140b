"""What ETK registration needs from the rest of the platform, as narrow interfaces.

Registration (``etkdepot.registration``) decides; it stores challenges and publishes
ETKs through these protocols, bound to the store by ``etkdepot.adapters``, and asks the
CA's depot signer for the signature, the one CA operation it may call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from ehcert.core.identifiers import Holder


@dataclass(frozen=True, slots=True)
class EtkChallengeFacts:
    """A stored registration challenge: who asked, for which certificate, what answers it."""

    id: str
    authentication_serial: str
    encryption_der: bytes
    answer_sha256: str
    expires_at: dt.datetime


class EtkChallenges(Protocol):
    def create(
        self,
        challenge_id: str,
        *,
        authentication_serial: str,
        encryption_der: bytes,
        answer_sha256: str,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> dt.datetime: ...

    def get(self, challenge_id: str) -> EtkChallengeFacts | None: ...

    def consume(self, challenge_id: str, now: dt.datetime) -> EtkChallengeFacts | None: ...


@dataclass(frozen=True, slots=True)
class EtkPublication:
    """What the depot publishes: the signed ETK and the facts it is looked up by."""

    holder: Holder
    encryption_certificate: x509.Certificate
    authentication_serial: str
    der: bytes
    published_at: dt.datetime


class EtkPublisher(Protocol):
    def publish(self, publication: EtkPublication) -> None: ...


class EtkSigner(Protocol):
    """The CA's depot signer (``CertificateAuthority.sign_etk``)."""

    def sign_etk(
        self,
        encryption_certificate: x509.Certificate,
        authentication_certificate: x509.Certificate,
        now: dt.datetime,
    ) -> bytes: ...
