"""The digital-key authentication method: a username, a password and a TOTP code.

A registration office issues a digital key to a person it identified in person
(``ra.registration_office``); the key then stands in for the eID when that person
requests, renews or revokes a certificate. Three things make it one:

- the **password** is kept only as an argon2id hash (RFC 9106; the "second recommended"
  parameters of section 4: t=3, p=4, m=64 MiB), so the stored table opens nothing;
- the **second factor** is a TOTP code (RFC 6238: HMAC-SHA-1, 30-second steps, 6
  digits, what every authenticator app reads from the enrolment QR code). A code is
  accepted one step either side of the platform's clock (section 5.2 allows for that
  much delay) and only **once**: the step it matched is recorded, and a code of that
  step or an earlier one is refused afterwards (section 5.2: the verifier "MUST NOT
  accept the second attempt of the OTP after the successful validation");
- **failed attempts are limited** (NIST SP 800-63B section 5.2.2): after
  :attr:`LoginPolicy.max_failures` wrong passwords, wrong codes or replayed codes in a
  row the key is locked for :attr:`LoginPolicy.lockout`, and every attempt meanwhile,
  right or wrong, is refused with the time to retry.

An unknown username costs the same argon2 verification as a wrong password and gets
the same sentence, so the answer does not tell which usernames exist. The result of
:meth:`DigitalKeyMethod.authenticate` is an :class:`~ehcert.core.identity.Identity` or
the refusal, *returned* rather than raised: the counters it changed must commit even
when the login fails (``ra.hybrid_method``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import math
import re
from dataclasses import dataclass
from typing import Protocol

import pyotp
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identity import Identity
from ehcert.ra.ports import CertificateFacts, DigitalKeyRevocations
from ehcert.registry.facts import RegistryReader

PASSWORD_HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_SECRET_LENGTH = 32  # base32 characters: 160 bits, as RFC 4226 section 4 advises
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_CODE = re.compile(r"[0-9]{6}")
_WRONG = "The username, password or code of the digital key is wrong"


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """How many failures in a row lock a key, and for how long."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class DigitalKeyLogin:
    """What the person types: validated on construction, each refusal naming its field."""

    username: str
    password: str
    code: str

    def __post_init__(self) -> None:
        check_username(self.username)
        if not isinstance(self.password, str) or not self.password:
            raise EhcertError(ErrorKind.MALFORMED, "The password is required.", field="password")
        if len(self.password) > MAX_PASSWORD_LENGTH:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"The password is longer than {MAX_PASSWORD_LENGTH} characters.",
                field="password",
            )
        if not isinstance(self.code, str) or not _CODE.fullmatch(self.code):
            raise EhcertError(
                ErrorKind.MALFORMED,
                "The code must be the 6 digits your authenticator app shows.",
                field="code",
            )


def check_username(username: str) -> str:
    """3 to 64 characters: lower-case letters, digits, '.', '_' or '-', not starting
    with a sign (a username is written on the enrolment sheet and typed by hand)."""
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise EhcertError(
            ErrorKind.MALFORMED,
            "The username must be 3 to 64 lower-case letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, not {str(username)[:70]!r}.",
            field="username",
        )
    return username


def check_new_password(password: str) -> str:
    """A new digital-key password: 12 to 1024 characters (NIST SP 800-63B section
    5.1.1.2 asks for at least 8 and for long passphrases to be accepted)."""
    if not isinstance(password, str) or not len(password) >= MIN_PASSWORD_LENGTH:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The password is longer than {MAX_PASSWORD_LENGTH} characters.",
            field="password",
        )
    return password


def totp_step(at: dt.datetime) -> int:
    """The RFC 6238 time step ``T = floor(unix time / 30)`` of ``at``."""
    return math.floor(at.timestamp()) // TOTP_STEP_SECONDS


def matched_step(secret: str, code: str, at: dt.datetime) -> int | None:
    """The time step, one either side of ``at``'s, whose code is ``code``; None if none."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    current = totp_step(at)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


class StoredDigitalKey(Protocol):
    """A stored digital key as the method reads it (``store.digital_keys``)."""

    @property
    def username(self) -> str: ...
    @property
    def ssin(self) -> str: ...
    @property
    def password_hash(self) -> str: ...
    @property
    def totp_secret(self) -> str: ...
    @property
    def last_used_step(self) -> int | None: ...
    @property
    def locked_until(self) -> dt.datetime | None: ...
    @property
    def revoked_at(self) -> dt.datetime | None: ...
    @property
    def revocation_reason(self) -> str | None: ...


class DigitalKeyStore(Protocol):
    """The stored keys and their atomic counters (``store.digital_keys``)."""

    def by_username(self, username: str) -> StoredDigitalKey | None: ...

    def spend_step(self, username: str, step: int) -> bool: ...

    def count_failure(self, username: str) -> int: ...

    def lock(self, username: str, until: dt.datetime) -> None: ...


def _utc(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def revoked_key_refusal(username: str, revoked_at: dt.datetime, reason: str | None) -> str:
    why = f" ({reason})" if reason else ""
    return (
        f"The digital key {username} was revoked by the registration office on "
        f"{revoked_at:%Y-%m-%d}{why}; it can no longer request, renew or revoke "
        "certificates. Register again at a registration office."
    )


class DigitalKeyMethod:
    """Authenticates a :class:`DigitalKeyLogin` (module docstring) in one transaction."""

    def __init__(
        self,
        keys: DigitalKeyStore,
        registry: RegistryReader,
        audit: AuditSink,
        policy: LoginPolicy,
    ) -> None:
        self._keys = keys
        self._registry = registry
        self._audit = audit
        self._policy = policy

    def authenticate(self, login: DigitalKeyLogin, now: dt.datetime) -> Identity | EhcertError:
        outcome = self._check(login, now)
        if isinstance(outcome, EhcertError):
            actor = f"digital-key:{login.username}"
            detail = refusal_detail("digital-key login", outcome)
            self._audit.record(REFUSED, actor, f"digital-key={login.username}", detail, now)
        return outcome

    def _check(self, login: DigitalKeyLogin, now: dt.datetime) -> Identity | EhcertError:
        key = self._keys.by_username(login.username)
        if key is None:
            _verify_password(_decoy_hash(), login.password)
            return EhcertError(ErrorKind.UNAUTHORIZED, self._failure_sentence(_WRONG))
        if key.locked_until is not None and now < key.locked_until:
            return self._locked(key.username, key.locked_until, now)
        if not _verify_password(key.password_hash, login.password):
            return self._failed(key.username, now)
        if key.revoked_at is not None:
            detail = revoked_key_refusal(key.username, key.revoked_at, key.revocation_reason)
            return EhcertError(ErrorKind.REVOKED, detail, field="username")
        step = matched_step(key.totp_secret, login.code, now)
        if step is None:
            return self._failed(key.username, now)
        if (
            key.last_used_step is not None and step <= key.last_used_step
        ) or not self._keys.spend_step(key.username, step):
            return self._failed(
                key.username,
                now,
                "This code was already used; a code is valid once. Wait for the next code "
                "of your authenticator app",
            )
        provider = self._registry.provider(key.ssin)
        name = f"{provider.first_name} {provider.last_name}" if provider else key.username
        return Identity("digital-key", key.ssin, name, digital_key=key.username)

    def _failed(self, username: str, now: dt.datetime, why: str = _WRONG) -> EhcertError:
        if self._keys.count_failure(username) >= self._policy.max_failures:
            until = _next_minute(now + self._policy.lockout)
            self._keys.lock(username, until)
            return self._locked(username, until, now)
        return EhcertError(
            ErrorKind.UNAUTHORIZED,
            self._failure_sentence(why),
            field="code" if why != _WRONG else None,
        )

    def _failure_sentence(self, why: str) -> str:
        """The same for an unknown username as for a known one (no count of attempts
        left, which only a known username would have), so it tells nothing."""
        return (
            f"{why}; {self._policy.max_failures} failed attempts in a row lock the digital "
            f"key for {_minutes(self._policy.lockout)}."
        )

    def _locked(self, username: str, until: dt.datetime, now: dt.datetime) -> EhcertError:
        """The refusal during a lock; ``retry_at`` is the same moment as the sentence's,
        which the edge sends as ``Retry-After``."""
        return EhcertError(
            ErrorKind.RATE_LIMITED,
            f"Too many failed attempts: the digital key {username} is locked until "
            f"{_utc(until)}; try again then (in {_minutes(until - now)}).",
            retry_at=until,
        )


def _next_minute(moment: dt.datetime) -> dt.datetime:
    """``moment`` rounded up to a whole minute: a lock ends at the minute its sentence
    names (``09:45 UTC``), not some seconds after it."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + dt.timedelta(minutes=1)


def _minutes(span: dt.timedelta) -> str:
    minutes = max(1, math.ceil(span.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@functools.cache
def _decoy_hash() -> str:
    """A valid hash of a random password: an unknown username is verified against it,
    so it costs what a known one does."""
    return PASSWORD_HASHER.hash(pyotp.random_base32())


def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string format) of a new password."""
    return PASSWORD_HASHER.hash(check_new_password(password))


def new_totp_secret() -> str:
    """A fresh TOTP secret, base32 (RFC 4648 section 6) as authenticator apps read it."""
    return pyotp.random_base32(TOTP_SECRET_LENGTH)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI the enrolment QR code carries (the Key Uri Format
    that authenticator apps read: issuer, account, secret, SHA1, 6 digits, 30 s)."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS, issuer=issuer)
    return totp.provisioning_uri(name=username, issuer_name=issuer)


# --- what the RA's rules ask about digital keys (``ra.service``) ---------------------------


def check_digital_key_live(
    revocations: DigitalKeyRevocations, identity: Identity, current: CertificateFacts
) -> None:
    """A certificate obtained with a digital key renews with that key, or with the
    certificate while the key is live: the office's revocation of the key stops its
    renewals. A new proof of identity (an eID, a new digital key) renews anyway."""
    if identity.method != "certificate" or current.digital_key is None:
        return
    revoked = revocations.revoked(current.digital_key)
    if revoked is not None:
        revoked_at, reason = revoked
        raise EhcertError(
            ErrorKind.REVOKED,
            f"Certificate {current.serial_hex} was requested with a digital key that is "
            f"revoked now. {revoked_key_refusal(current.digital_key, revoked_at, reason)}",
        )


def digital_key_for_institution() -> EhcertError:
    return EhcertError(
        ErrorKind.FORBIDDEN,
        "A digital key acts for its holder's own certificates only; an institution's "
        "certificate needs the eID of its mandated certificate holder.",
    )
