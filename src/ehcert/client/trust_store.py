"""The client's trust store: the last trust list it accepted, and how a newer one is accepted.

The platform publishes its certificates as a signed ETSI TS 119 612 list
(``GET /v1/trust-list.xml``, :mod:`ehcert.pki.trust_list`). A trust store is a folder
holding the last list accepted (``trust-list.xml``) and the platform it came from
(``store.json``). A newer list is accepted only when

- its XAdES signature verifies (:mod:`ehcert.pki.xades`) with a certificate the previous
  list names as a trust-list signer (``urn:ehcert:Svctype:TrustListSigner``): a signer
  rotation is announced by the previous list, signed with the previous key;
- its ``TSLSequenceNumber`` is higher than the previous list's, so an older list is never
  replayed over a newer one;
- it is not past its ``NextUpdate`` and its signer certificate is valid now.

When the newest list is signed by a signer the stored list does not name (the signer
changed more than once since), the lists in between are fetched by number and each is
accepted against the one before it. A store that holds no list yet accepts a first one
only with an explicit anchor, the platform's root certificate or its SHA-256
fingerprint (:class:`RootAnchor`), never silently: the list must name that root, and its
signer must chain to it through the list's issuing CA.

Any refusal is an :class:`~ehcert.core.errors.EhcertError` with one sentence; the store
is left as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import xades
from ehcert.pki.files import write_private_file
from ehcert.pki.pathval import validate_path
from ehcert.pki.trust_list import TrustList, fingerprint, read_trust_list, sequence_of

LIST_FILE = "trust-list.xml"
STATE_FILE = "store.json"
MAX_STEPS = 1000
"""The most lists a refresh fetches one after the other to follow signer rotations."""

Fetch = Callable[[int | None], bytes]
"""The newest list (``None``) or list number ``n``, e.g. ``PlatformClient.trust_list``."""


def default_trust_store() -> Path:
    """``~/ehealth/trust``, beside the Certificate Manager's ``~/ehealth/keystore``."""
    return Path.home() / "ehealth" / "trust"


def _refused(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.UNTRUSTED, detail, field="trust_list")


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class RootAnchor:
    """The root a first list must name: given by the user, never learnt from the network."""

    sha256: str

    @classmethod
    def from_fingerprint(cls, text: str) -> RootAnchor:
        """A SHA-256 fingerprint in hex, with or without colons (as openssl prints it)."""
        cleaned = text.strip().lower().replace(":", "").removeprefix("sha256=")
        if not re.fullmatch(r"[0-9a-f]{64}", cleaned):
            raise EhcertError(
                ErrorKind.MALFORMED,
                "The root fingerprint must be 64 hexadecimal digits (SHA-256).",
                field="root_fingerprint",
            )
        return cls(cleaned)

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> RootAnchor:
        return cls(fingerprint(certificate))


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: the list now held, and the numbers accepted on the way."""

    trust_list: TrustList
    accepted: tuple[int, ...]

    @property
    def changed(self) -> bool:
        return bool(self.accepted)


class TrustStore:
    """One folder holding the last accepted trust list (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    # -- what is held ------------------------------------------------------------------

    def _document(self) -> bytes | None:
        try:
            return (self.folder / LIST_FILE).read_bytes()
        except FileNotFoundError:
            return None

    def current(self) -> TrustList | None:
        """The list held, re-read from its signed element (``None`` when there is none)."""
        document = self._document()
        if document is None:
            return None
        signer = xades.signing_certificate(document)
        # Checked at the moment it was signed, when its signer was valid; what is read is
        # the element the signature covers.
        issued = read_trust_list(xades.parse_xml(document)).issued
        return read_trust_list(xades.verify_enveloped(document, signer, issued))

    def platform(self) -> str | None:
        """The platform URL the held list was fetched from, if any."""
        try:
            state = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        value = state.get("platform") if isinstance(state, dict) else None
        return value if isinstance(value, str) else None

    # -- accepting a list --------------------------------------------------------------

    def check(
        self,
        document: bytes,
        previous: TrustList | None,
        now: dt.datetime,
        *,
        anchor: RootAnchor | None = None,
        final: bool = True,
    ) -> TrustList:
        """The list ``document`` says, if it may follow ``previous`` (module docstring).

        ``final=False`` is for the lists a refresh walks through to reach the newest:
        those may be past their ``NextUpdate`` and are checked at their own issue time.
        """
        signer = xades.signing_certificate(document)
        number = sequence_of(xades.parse_xml(document))
        name = f"The trust list number {number}" if number else "The trust list"
        if previous is None:
            if anchor is None:
                raise _refused(
                    "This trust store holds no trust list yet; give the platform's root "
                    "certificate or its SHA-256 fingerprint to accept a first one."
                )
        elif _der(signer) not in {_der(c) for c in previous.signers}:
            raise _refused(
                f"{name} is signed by {signer.subject.rfc4514_string()} (SHA-256 "
                f"{fingerprint(signer)}), which trust list number {previous.sequence} does "
                "not announce as a trust-list signer."
            )
        listed = read_trust_list(xades.verify_enveloped(document, signer, now))
        at = now if final else listed.issued
        if previous is None:
            assert anchor is not None
            self._check_first(listed, signer, anchor, at)
        elif listed.sequence <= previous.sequence:
            raise _refused(
                f"{name} is not newer than trust list number {previous.sequence}, which this "
                "trust store holds already."
            )
        elif listed.environment != previous.environment:
            raise _refused(
                f"{name} is the {listed.environment} environment's, not the "
                f"{previous.environment} one this trust store follows."
            )
        if not signer.not_valid_before_utc <= at <= signer.not_valid_after_utc:
            raise _refused(f"{name}'s signer certificate is not valid on {at:%Y-%m-%d %H:%M} UTC.")
        if final and now > listed.next_update:
            raise _refused(
                f"{name} was due to be replaced by {listed.next_update:%Y-%m-%d %H:%M} UTC "
                "(its NextUpdate) and is out of date."
            )
        return listed

    @staticmethod
    def _check_first(
        listed: TrustList, signer: x509.Certificate, anchor: RootAnchor, at: dt.datetime
    ) -> None:
        roots = [root for root in listed.roots if fingerprint(root) == anchor.sha256]
        if not roots:
            names = ", ".join(fingerprint(root) for root in listed.roots)
            raise _refused(
                f"The trust list's root CA (SHA-256 {names}) is not the root you gave "
                f"(SHA-256 {anchor.sha256})."
            )
        validate_path(
            signer,
            listed.issuing_cas,
            roots,
            at=at,
            purpose=None,
            revocation=None,
            leaf_label="trust-list signer certificate",
        )

    def _keep(self, document: bytes, platform: str | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_file(self.folder / LIST_FILE, document)
        if platform is not None:
            state = json.dumps({"platform": platform}, indent=2).encode() + b"\n"
            write_private_file(self.folder / STATE_FILE, state)

    def accept(
        self,
        document: bytes,
        now: dt.datetime,
        *,
        anchor: RootAnchor | None = None,
        platform: str | None = None,
    ) -> TrustList:
        """Check ``document`` against the list held and keep it in its place."""
        listed = self.check(document, self.current(), now, anchor=anchor)
        self._keep(document, platform)
        return listed

    def refresh(
        self,
        fetch: Fetch,
        now: dt.datetime,
        *,
        anchor: RootAnchor | None = None,
        platform: str | None = None,
    ) -> Refreshed:
        """Fetch the newest list and accept it, through the lists in between if its
        signer is not one the held list announces. Nothing is kept unless all pass."""
        previous = self.current()
        newest = fetch(None)
        held = self._document()
        if previous is not None and held == newest:
            self.check_fresh(previous, now)
            return Refreshed(previous, ())
        number = sequence_of(xades.parse_xml(newest))
        if number is None:
            raise EhcertError(
                ErrorKind.MALFORMED, "The platform's trust list has no TSLSequenceNumber."
            )
        step, accepted = previous, []
        if previous is not None and number > previous.sequence + 1:
            signer = _der(xades.signing_certificate(newest))
            if signer not in {_der(c) for c in previous.signers}:
                if number - previous.sequence > MAX_STEPS:
                    raise _refused(
                        f"The platform's trust list is number {number}, more than {MAX_STEPS} "
                        f"after number {previous.sequence}; accept it again from the root."
                    )
                for between in range(previous.sequence + 1, number):
                    step = self.check(fetch(between), step, now, final=False)
                    accepted.append(between)
        listed = self.check(newest, step, now, anchor=anchor)
        self._keep(newest, platform)
        return Refreshed(listed, (*accepted, listed.sequence))

    def in_use(
        self,
        fetch: Fetch | None,
        now: dt.datetime,
        *,
        platform: str | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> TrustList | None:
        """The list to judge certificates with now: the held one, refreshed first through
        ``fetch`` (when given); ``None`` when the store holds none.

        This is what the SDK and the Certificate Manager call before each use, so a CA
        rotation reaches them without a manual step. A platform that cannot be reached
        (UNAVAILABLE) leaves the held list in use, with ``warn`` told why, until its
        NextUpdate; a list that cannot be accepted is a refusal.
        """
        listed = self.current()
        if listed is None:
            return None
        if fetch is not None:
            try:
                listed = self.refresh(fetch, now, platform=platform).trust_list
            except EhcertError as error:
                if error.kind is not ErrorKind.UNAVAILABLE:
                    raise
                if warn is not None:
                    warn(f"{error.detail} Using the trust list held.")
        self.check_fresh(listed, now)
        return listed

    @staticmethod
    def check_fresh(listed: TrustList, now: dt.datetime) -> None:
        """Refuse a held list that is past its NextUpdate (a newer one was due)."""
        if now > listed.next_update:
            raise _refused(
                f"The trust list number {listed.sequence} was due to be replaced by "
                f"{listed.next_update:%Y-%m-%d %H:%M} UTC and no newer one could be "
                "accepted; run 'ehcert trust update'."
            )
