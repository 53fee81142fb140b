"""The keystores in a folder, what each says offline, and the daily renew/watch decisions.

A care provider's folder holds keystores written over the years: the current one, the
ones it replaced (renewal never overwrites, see :mod:`ehcert.manager.certificates`),
keystores issued by other tools (any ``.p12``). This module answers, without the
platform:

- which files are keystores (:func:`find_keystores`): ``*.p12`` and ``*.acc-p12``, not
  hidden files (a password change writes its temporary file as a dot-file);
- what one holds (:func:`read_summary`): holder, individual or institution, environment,
  validity and renewal window (policy: the 90 days before expiry), its encryption keys
  and any other entries. Revocation status needs the platform; offline it is *unknown*;
- which file is the current one of a holder (:func:`latest_keystore`): renewal writes a
  new file next to the old one with the same password, so the newest certificate of the
  same holder that opens with that password is the one to act on. This is what makes
  ``cert auto-renew --keystore OLD`` safe to leave in a crontab for years: it follows the
  renewals instead of renewing the old file again every day;
- what a daily job should do (:func:`renewal_decision`) and what monitoring should say
  (:func:`watch_findings`).

The certificates inside an eHealth keystore are encrypted under its password (RFC 7292
section 4.1, ``encryptedData`` SafeContents), so nothing beyond what the file *name* says
(holder, creation time, environment, as :func:`~ehcert.pki.keystore.keystore_filename`
writes it) can be known before the password is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ehcert.client.results import CertificateState, CertificateStatus
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import INSTITUTION_TYPES, PERSON_TYPES
from ehcert.core.names import parse_ehealth_subject
from ehcert.manager.certificate_views import CertificateView, describe_certificate
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, Keystore

KEYSTORE_SUFFIXES = (".acc-p12", ".p12")
# keystore_filename(): "<holder> yyyyMMdd-HHmmss.<ext>", time in UTC.
_MANAGER_NAME = re.compile(r"^(?P<holder>\S.*\S|\S) (?P<stamp>\d{8}-\d{6})\.(?P<ext>acc-p12|p12)$")
# eHealth's own tools: "<holder>-yyyyMMdd-HHmmss.acc.p12" in acceptance, ".p12" in production,
# e.g. "SSIN=79021802145-20230823-085751.acc.p12".
_EHEALTH_NAME = re.compile(
    r"^(?P<holder>[A-Z][A-Z-]*=\S+?)-(?P<stamp>\d{8}-\d{6})\.(?P<ext>acc\.p12|p12)$"
)
_ACCEPTANCE_EXTENSIONS = ("acc-p12", "acc.p12")


class HolderKind(StrEnum):
    INDIVIDUAL = "individual"
    INSTITUTION = "institution"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class KeystoreFile:
    """A keystore file and what its name says (nothing here needs the password)."""

    path: Path
    holder_hint: str | None
    created: dt.datetime | None
    environment: str | None

    @property
    def key(self) -> str:
        """A stable, opaque handle for the file in URLs (its name is no business of a URL)."""
        return hashlib.sha256(self.path.name.encode("utf-8")).hexdigest()[:16]


def describe_keystore_name(path: Path) -> KeystoreFile:
    """Holder, creation time and environment from an eHealth Certificate Manager file name.

    ``.acc-p12`` (this manager) and ``.acc.p12`` (eHealth's tools) always mean
    acceptance; ``.p12`` means production only in a name of either tool's form (other
    tools use ``.p12`` for everything).
    """
    match = _MANAGER_NAME.match(path.name) or _EHEALTH_NAME.match(path.name)
    if match is None:
        acceptance = path.name.endswith(tuple(f".{ext}" for ext in _ACCEPTANCE_EXTENSIONS))
        return KeystoreFile(path, None, None, "acceptance" if acceptance else None)
    try:
        created = dt.datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:  # digits in the right places, but no real moment (month 13)
        created = None
    environment = "acceptance" if match["ext"] in _ACCEPTANCE_EXTENSIONS else "production"
    return KeystoreFile(path, match["holder"], created, environment)


def find_keystores(folder: Path) -> tuple[KeystoreFile, ...]:
    """Every keystore file in ``folder`` (not its subfolders), sorted by name."""
    if not isinstance(folder, Path):
        raise TypeError("folder must be a pathlib.Path")
    if not folder.is_dir():
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"The keystore folder {folder} does not exist or is not a folder.",
            field="keystore_dir",
        )
    found = [
        describe_keystore_name(path)
        for path in folder.iterdir()
        if not path.name.startswith(".")
        and path.name.endswith(KEYSTORE_SUFFIXES)
        and path.is_file()
    ]
    return tuple(sorted(found, key=lambda item: item.path.name))


# --- what a keystore holds ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncryptionKeyView:
    """An encryption key entry: alias is the decimal serial of its certificate."""

    alias: str
    serial: str
    not_after: dt.datetime
    expired: bool


@dataclass(frozen=True, slots=True)
class KeystoreSummary:
    """What a keystore says about itself at ``now``; ``revocation`` is unknown offline."""

    path: Path
    holder: str
    display_name: str | None
    holder_kind: HolderKind
    environment: str | None
    certificate: CertificateView
    encryption_keys: tuple[EncryptionKeyView, ...]
    other_entries: tuple[str, ...]
    revocation: str = "unknown"


def summarise(path: Path, keystore: Keystore, now: dt.datetime) -> KeystoreSummary:
    """The summary of an already opened keystore (see :func:`read_summary`)."""
    authentication = keystore.authentication()
    view = describe_certificate(authentication.certificate, now)
    try:
        parsed = parse_ehealth_subject(authentication.certificate.subject)
        display_name: str | None = parsed.display_name
        if parsed.identifier_type in PERSON_TYPES:
            kind = HolderKind.INDIVIDUAL
        elif parsed.identifier_type in INSTITUTION_TYPES:
            kind = HolderKind.INSTITUTION
        else:  # pragma: no cover - parse_ehealth_subject only accepts known types
            kind = HolderKind.UNKNOWN
    except ValueError:
        display_name, kind = None, HolderKind.UNKNOWN
    encryption = tuple(
        EncryptionKeyView(
            entry.alias,
            format(entry.certificate.serial_number, "x"),
            entry.certificate.not_valid_after_utc,
            now > entry.certificate.not_valid_after_utc,
        )
        for entry in keystore.encryption_keys()
    )
    listed = {AUTHENTICATION_ALIAS, *(e.alias for e in encryption)}
    others = tuple(
        entry.alias
        for entry in keystore.entries + keystore.unsupported_entries
        if entry.alias.lower() not in listed and entry.alias not in listed
    )
    return KeystoreSummary(
        path=path,
        holder=view.holder,
        display_name=display_name,
        holder_kind=kind,
        environment=describe_keystore_name(path).environment,
        certificate=view,
        encryption_keys=encryption,
        other_entries=others,
    )


@dataclass(frozen=True, slots=True)
class KeyView:
    """One private key of a keystore and its certificate, whatever its role."""

    alias: str
    role: str  # "authentication", "encryption", "other" or "unusable"
    subject: str | None
    serial: str | None
    not_after: dt.datetime | None
    note: str | None = None


def key_views(keystore: Keystore) -> tuple[KeyView, ...]:
    """Every private key in ``keystore`` (unusable ones too, with the reason), in file order.

    Roles follow the eHealth layout: ``authentication`` (any letter case), encryption
    keys aliased by the decimal serial of their certificate, anything else ``other``.
    """
    encryption = {entry.alias for entry in keystore.encryption_keys()}
    views: list[KeyView] = []
    for entry in keystore.entries:
        if entry.alias.lower() == AUTHENTICATION_ALIAS:
            role = "authentication"
        elif entry.alias in encryption:
            role = "encryption"
        else:
            role = "other"
        views.append(
            KeyView(
                entry.alias,
                role,
                entry.certificate.subject.rfc4514_string(),
                format(entry.certificate.serial_number, "x"),
                entry.certificate.not_valid_after_utc,
            )
        )
    for unusable in keystore.unsupported_entries:
        certificate = unusable.certificate
        views.append(
            KeyView(
                unusable.alias,
                "unusable",
                None if certificate is None else certificate.subject.rfc4514_string(),
                None if certificate is None else format(certificate.serial_number, "x"),
                None if certificate is None else certificate.not_valid_after_utc,
                unusable.reason,
            )
        )
    return tuple(views)


def read_summary(path: Path, password: str, now: dt.datetime) -> KeystoreSummary:
    """Open ``path`` with ``password`` and summarise it; works for any eHealth keystore.

    Raises EhcertError UNAUTHORIZED for a wrong password, NOT_FOUND/BAD_KEY when the file
    has no usable ``authentication`` entry, MALFORMED when it is no keystore.
    """
    return summarise(path, read_keystore_file(path, password), now)


def latest_keystore(path: Path, password: str, now: dt.datetime) -> KeystoreSummary:
    """The newest keystore of ``path``'s holder in its folder, ``path``'s own if none is newer.

    Candidates are the folder's keystores that open with the same password (renewal keeps
    the password) and whose certificate names the same holder; the latest ``not_after``
    wins. Files that do not open are skipped: they belong to someone else.
    """
    current = read_summary(path, password, now)
    best = current
    for candidate in find_keystores(path.parent):
        if candidate.path == path:
            continue
        if candidate.holder_hint is not None and candidate.holder_hint != current.holder:
            continue
        try:
            other = read_summary(candidate.path, password, now)
        except EhcertError:
            continue
        if other.holder == current.holder and (
            other.certificate.not_after > best.certificate.not_after
        ):
            best = other
    return best


# --- daily decisions --------------------------------------------------------------------------


class RenewalOutcome(StrEnum):
    """What ``cert auto-renew`` found; only ``RENEW`` sends anything to the platform."""

    RENEW = "renew"
    TOO_EARLY = "too-early"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class RenewalDecision:
    outcome: RenewalOutcome
    keystore: KeystoreSummary
    reason: str

    @property
    def needs_a_person(self) -> bool:
        """Expired or revoked: only a new request with an eID helps, a script cannot."""
        return self.outcome in (RenewalOutcome.EXPIRED, RenewalOutcome.REVOKED)


def renewal_decision(
    summary: KeystoreSummary, platform: CertificateStatus | None
) -> RenewalDecision:
    """Renew only inside the window (policy: 90 days before expiry) of a valid certificate."""
    view = summary.certificate
    if platform is not None and platform.status is CertificateState.REVOKED:
        when = f" on {platform.revoked_at:%Y-%m-%d}" if platform.revoked_at else ""
        return RenewalDecision(
            RenewalOutcome.REVOKED,
            summary,
            f"The certificate {view.serial} of {summary.holder} was revoked{when}; "
            "make a new request with your eID.",
        )
    if view.expired:
        return RenewalDecision(
            RenewalOutcome.EXPIRED,
            summary,
            f"The certificate of {summary.holder} expired on {view.not_after:%Y-%m-%d}; "
            "make a new request with your eID.",
        )
    if not view.renewal_window_open:
        return RenewalDecision(
            RenewalOutcome.TOO_EARLY,
            summary,
            f"Nothing to do: the certificate of {summary.holder} is valid until "
            f"{view.not_after:%Y-%m-%d} and renewal opens on {view.renewal_opens:%Y-%m-%d}.",
        )
    return RenewalDecision(
        RenewalOutcome.RENEW,
        summary,
        f"The certificate of {summary.holder} expires on {view.not_after:%Y-%m-%d}; "
        "renewing it now.",
    )


class WatchLevel(StrEnum):
    OK = "ok"
    RENEWAL_WINDOW = "renewal-window"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class WatchFinding:
    level: WatchLevel
    keystore: KeystoreSummary
    message: str

    @property
    def is_warning(self) -> bool:
        return self.level is not WatchLevel.OK


def watch_finding(summary: KeystoreSummary, platform: CertificateStatus | None) -> WatchFinding:
    """One line for monitoring: a warning once the renewal window opens, on expiry or revocation."""
    view = summary.certificate
    name = f"{summary.holder} ({summary.path.name})"
    if platform is not None and platform.status is CertificateState.REVOKED:
        return WatchFinding(
            WatchLevel.REVOKED,
            summary,
            f"WARNING: the certificate of {name} is revoked; make a new request with your eID.",
        )
    if view.expired:
        return WatchFinding(
            WatchLevel.EXPIRED,
            summary,
            f"WARNING: the certificate of {name} expired on {view.not_after:%Y-%m-%d}; "
            "make a new request with your eID.",
        )
    if view.renewal_window_open:
        return WatchFinding(
            WatchLevel.RENEWAL_WINDOW,
            summary,
            f"WARNING: the certificate of {name} expires on {view.not_after:%Y-%m-%d} "
            f"({view.days_left} days left); renew it now.",
        )
    return WatchFinding(
        WatchLevel.OK,
        summary,
        f"OK: the certificate of {name} is valid until {view.not_after:%Y-%m-%d}; "
        f"renewal opens on {view.renewal_opens:%Y-%m-%d}.",
    )


def newest_per_holder(summaries: list[KeystoreSummary]) -> list[KeystoreSummary]:
    """Of several keystores of one holder keep the newest certificate: the others are
    replaced by a renewal and need no warning."""
    best: dict[str, KeystoreSummary] = {}
    for summary in summaries:
        known = best.get(summary.holder)
        if known is None or summary.certificate.not_after > known.certificate.not_after:
            best[summary.holder] = summary
    return sorted(best.values(), key=lambda s: s.path.name)
