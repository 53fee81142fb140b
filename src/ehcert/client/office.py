"""A registration office's calls to the platform (the hybrid method).

An officer signs with their own eHealth keystore (``KeyEntryRequestSigner``) to record
the identity check of a person without a Belgian eID and issue that person's digital
key, or to revoke a digital key. The enrolment that comes back holds the ``otpauth://``
URI of the key's TOTP secret (RFC 6238), which the office shows the person once as a QR
code to scan with an authenticator app (``ehcert office register``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ehcert.client.keys import RequestSigner
from ehcert.client.platform import PlatformClient


@dataclass(frozen=True, slots=True)
class ForeignRegistration:
    """What the officer saw and what the person chose (their username and password)."""

    ssin: str  # the person's BIS number
    document_type: str  # passport | identity-card | residence-permit
    document_number: str
    issuing_country: str  # ISO 3166-1 alpha-2
    document_expiry: dt.date
    username: str
    password: str

    def __repr__(self) -> str:  # never the password
        return f"ForeignRegistration(ssin={self.ssin!r}, username={self.username!r})"


@dataclass(frozen=True, slots=True)
class Enrolment:
    username: str
    ssin: str
    provisioning_uri: str
    office: str
    issued_at: dt.datetime

    def __repr__(self) -> str:  # the URI holds the TOTP secret
        return f"Enrolment(username={self.username!r}, ssin={self.ssin!r})"


@dataclass(frozen=True, slots=True)
class RevokedKey:
    username: str
    ssin: str
    revoked_at: dt.datetime
    reason: str | None


class RegistrationOfficeClient(PlatformClient):
    """:class:`PlatformClient` with the office's two calls."""

    def register(self, signer: RequestSigner, registration: ForeignRegistration) -> Enrolment:
        """``POST /v1/office/registrations``: the identity check and the new digital key."""
        payload = {
            "ssin": registration.ssin,
            "document_type": registration.document_type,
            "document_number": registration.document_number,
            "issuing_country": registration.issuing_country,
            "document_expiry": registration.document_expiry.isoformat(),
            "username": registration.username,
            "password": registration.password,
        }
        answer = self._post_signed(
            "/v1/office/registrations", payload, signer, "an office registration"
        )
        return Enrolment(
            answer.text("username"),
            answer.text("ssin"),
            answer.text("provisioning_uri"),
            answer.text("office"),
            answer.moment("issued_at"),
        )

    def revoke_key(self, signer: RequestSigner, username: str, reason: str) -> RevokedKey:
        """``POST /v1/office/digital-keys/revoke``."""
        answer = self._post_signed(
            "/v1/office/digital-keys/revoke",
            {"username": username, "reason": reason},
            signer,
            "a digital key revocation",
        )
        return RevokedKey(
            answer.text("username"),
            answer.text("ssin"),
            answer.moment("revoked_at"),
            answer.optional_text("reason"),
        )
