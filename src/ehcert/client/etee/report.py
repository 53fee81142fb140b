"""The unseal report: two verdicts kept apart, as the eHealth ETEE libraries do.

* **data** — can the message be opened, is every structure sound, does every signature
  and digest verify, are only allowed algorithms used? Content is returned only when the
  data is valid.
* **trust** — are the sender's and the recipient's certificates fit: chain to the
  configured anchors, time validity at signing time and now, revocation, key usage, key
  size, the inner and outer signer being the same; and, separately, whether the inner
  signature is non-repudiable (its certificate asserts nonRepudiation, RFC 5280 4.2.1.3).

Every finding is an :class:`Issue` with a stable ``code`` (for programs), the part it is
about (``where``) and one sentence (for people). ``to_dict`` gives JSON-ready data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. ``where``: outer, envelope, inner, sender, inner_signer or recipient."""

    code: str
    where: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "where": self.where, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class SignatureFacts:
    """What one signature layer says about itself."""

    signer_subject: str
    signer_serial: int
    digest_algorithm: str
    signature_algorithm: str
    signing_time: dt.datetime | None
    signature_valid: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "signer_subject": self.signer_subject,
            "signer_serial": str(self.signer_serial),
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "signing_time": None if self.signing_time is None else self.signing_time.isoformat(),
            "signature_valid": self.signature_valid,
        }


@dataclass(frozen=True, slots=True)
class DataVerdict:
    valid: bool
    issues: tuple[Issue, ...]
    outer: SignatureFacts | None
    inner: SignatureFacts | None
    content_encryption: str | None
    opened_with: str | None  # alias of the key entry that decrypted the message
    opened_with_key: str | None = None
    """The kind of that entry's key: ``RSA 2048``, ``EC secp384r1``."""
    key_encryption: str | None = None
    """How the content key reached it: RSA key transport (``rsaes_pkcs1v15``) or the
    ECDH scheme and key wrap (``dhSinglePass-stdDH-sha384kdf-scheme with aes256_wrap``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "issues": [i.to_dict() for i in self.issues],
            "outer": None if self.outer is None else self.outer.to_dict(),
            "inner": None if self.inner is None else self.inner.to_dict(),
            "content_encryption": self.content_encryption,
            "opened_with": self.opened_with,
            "opened_with_key": self.opened_with_key,
            "key_encryption": self.key_encryption,
        }


@dataclass(frozen=True, slots=True)
class TrustVerdict:
    trusted: bool
    issues: tuple[Issue, ...]
    sender_subject: str | None
    recipient_subject: str | None
    same_signer: bool | None
    non_repudiation: bool
    revocation_checked: bool = False
    """Whether a revocation source was asked about the sender's path at all: a verdict
    with no revocation checker says ``trusted`` of the chain and times only."""

    def codes(self, where: str | None = None) -> set[str]:
        return {i.code for i in self.issues if where is None or i.where == where}

    def to_dict(self) -> dict[str, Any]:
        return {
            "trusted": self.trusted,
            "issues": [i.to_dict() for i in self.issues],
            "sender_subject": self.sender_subject,
            "recipient_subject": self.recipient_subject,
            "same_signer": self.same_signer,
            "non_repudiation": self.non_repudiation,
            "revocation_checked": self.revocation_checked,
        }


@dataclass(frozen=True, slots=True)
class UnsealReport:
    data: DataVerdict
    trust: TrustVerdict
    checked_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data.to_dict(),
            "trust": self.trust.to_dict(),
            "checked_at": self.checked_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Unsealed:
    """The content (None unless the data verdict is valid) and the report."""

    content: bytes | None
    report: UnsealReport
