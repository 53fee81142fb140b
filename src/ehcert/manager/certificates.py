"""Certificate Manager operations: request, renew, revoke and inspect a certificate.

These functions hold the workflow and nothing of a user interface: the ``ehcert cert``
commands and the local web UI both call them. They talk to the platform only through a
:class:`~ehcert.client.platform.PlatformClient` and to the disk only through the
keystore module, and take ``now`` as an argument (DESIGN.md: no hidden clocks).

Two rules shape every flow:

- **the private key is never lost once the platform has certified it.** Everything that
  can fail for local reasons (output directory, existing file, password, renewal window)
  is checked *before* the key is generated and the request sent; the new keys are saved
  beside the keystores before the request goes out (``manager.pending``), so a process
  killed after the platform signed completes the work when run again; after the
  answer, the only remaining step is writing the keystore, and a name clash there picks
  another name instead of discarding the key;
- **nothing is overwritten.** A renewal writes a *new* keystore, named like a fresh one
  from the renewal date (``keystore_filename``), next to the old file, which stays
  untouched. That is how eHealth's own Certificate Manager names keystores (holder plus
  creation date), the old file is the backup without inventing a second naming scheme,
  and configurations pointing to the old file keep working until they are switched over
  (the old certificate stays valid until it expires or is revoked). The new keystore
  carries over every non-authentication entry of the old one, so encryption keys of
  earlier certificates stay available to open old messages (DESIGN.md, "Renew").

Request and renewal also make a new encryption key pair, certified by the new
authentication key and stored under its certificate's decimal serial; once the keystore
is written, its ETK is registered with the depot (``manager.etk``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography import x509

from ehcert.client.eid import EidCredential
from ehcert.client.keys import (
    EidRequestSigner,
    KeyEntryRequestSigner,
    build_csr,
    generate_key,
    generate_rsa_key,
)
from ehcert.client.platform import DigitalKeyLogin, PlatformClient, normalise_serial, serial_of
from ehcert.client.results import CertificateStatus, IssuedCertificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, InstitutionId, validate_application_id
from ehcert.core.keys import KEY_POLICY, REQUEST_KEY_TYPES, key_type_of
from ehcert.core.keys import key_type as parse_key_type
from ehcert.core.names import parse_ehealth_subject
from ehcert.core.policy import check_renewal_window, renewal_opens
from ehcert.core.revocation import canonical_revocation_reason
from ehcert.manager.etk import encryption_entry, register_etk, registration_failed
from ehcert.manager.password import check_new_password
from ehcert.manager.pending import (
    discard_pending_keys,
    load_pending_keys,
    renewal_journal,
    request_journal,
    save_pending_keys,
)
from ehcert.pki.keystore import (
    keystore_filename,
    keystore_suffix,
    read_keystore_file,
    write_keystore_file,
)
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, KeyEntry, Keystore
from ehcert.pki.public_keys import PrivateKey, key_facts

ENVIRONMENTS = ("acceptance", "production")


class Step(StrEnum):
    """Where a long operation is, for a spinner or a progress line."""

    GENERATING_KEY = "generating-key"
    REQUESTING = "requesting"
    WRITING_KEYSTORE = "writing-keystore"
    REGISTERING_ETK = "registering-etk"


Progress = Callable[[Step], None]


def _no_progress(step: Step) -> None:
    del step


def validate_revocation_reason(reason: str) -> str:
    """The RFC 5280 reason name for ``reason`` (any letter case), or a refusal listing them."""
    return canonical_revocation_reason(reason)


# --- the local view of a certificate ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateView:
    """What the keystore alone says about its certificate at ``now``."""

    holder: str
    subject: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: int
    expired: bool
    renewal_opens: dt.datetime
    renewal_window_open: bool


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The local view of a keystore's certificate plus the platform's status of it."""

    keystore: Path
    certificate: CertificateView
    platform: CertificateStatus


def describe_certificate(certificate: x509.Certificate, now: dt.datetime) -> CertificateView:
    """Holder, validity and renewal window of ``certificate`` at ``now`` (policy: 90 days)."""
    _require_aware(now)
    not_after = certificate.not_valid_after_utc
    opens = renewal_opens(not_after)
    return CertificateView(
        holder=_holder_text(certificate),
        subject=certificate.subject.rfc4514_string(),
        serial=serial_of(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=not_after,
        days_left=(not_after - now).days,
        expired=now > not_after,
        renewal_opens=opens,
        renewal_window_open=opens <= now <= not_after,
    )


def _holder_text(certificate: x509.Certificate) -> str:
    try:
        return parse_ehealth_subject(certificate.subject).holder_text
    except ValueError:
        return certificate.subject.rfc4514_string()


def _require_aware(now: dt.datetime) -> None:
    if not isinstance(now, dt.datetime):
        raise TypeError("now must be a datetime")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


# --- keystore files -----------------------------------------------------------------------


def _check_output_directory(out_dir: Path) -> None:
    """The keystore folder: created (0700) when missing, refused when it is not a folder."""
    if not out_dir.exists():
        out_dir.mkdir(parents=True, mode=0o700)
    if not out_dir.is_dir():
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The output path {out_dir} is not a directory.",
            field="out_dir",
        )
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise EhcertError(
            ErrorKind.FORBIDDEN,
            f"The output directory {out_dir} is not writable.",
            field="out_dir",
        )


def _free_path(path: Path, serial: str) -> Path:
    """``path``, or when it is taken the same name with the serial appended: never overwrite."""
    if not path.exists():
        return path
    candidate = path.with_name(f"{path.stem}-{serial}{path.suffix}")
    counter = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{serial}-{counter}{path.suffix}")
        counter += 1
    return candidate


def _open_keystore(path: Path, password: str) -> tuple[Keystore, KeyEntry]:
    if not path.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"The keystore {path} does not exist.", field="keystore"
        )
    keystore = read_keystore_file(path, password)
    return keystore, keystore.authentication()


def _check_certifies(issued: IssuedCertificate, key: PrivateKey) -> None:
    """The platform must have certified *our* key; anything else is useless and suspect."""
    if issued.certificate.public_key() != key.public_key():
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The platform returned certificate {issued.serial} for a different public key "
            "than the one requested; it was not stored.",
        )


def _unique(certificates: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...]:
    return tuple(dict.fromkeys(certificates))


def _new_keystore_name(issued: IssuedCertificate, now: dt.datetime) -> str:
    """``keystore_filename`` for the holder the certificate names (CN/OU, not the answer's
    claim). Should the platform send something unusable, the serial names the file, with
    the environment's extension all the same: the key must be saved whatever its name."""
    try:
        holder = parse_ehealth_subject(issued.certificate.subject).holder_text
        return keystore_filename(holder, now, issued.environment)
    except ValueError:
        return f"ehcert-{issued.serial}{keystore_suffix(issued.environment)}"


def _write_new_keystore(
    directory: Path,
    issued: IssuedCertificate,
    keystore: Keystore,
    password: str,
    now: dt.datetime,
    *,
    legacy_compatible: bool,
) -> Path:
    path = _free_path(directory / _new_keystore_name(issued, now), issued.serial)
    write_keystore_file(path, keystore, password, legacy_compatible=legacy_compatible)
    return path


def _check_legacy_flag(legacy_compatible: object) -> None:
    """Checked first: a bad argument must not surface after a certificate was issued."""
    if not isinstance(legacy_compatible, bool):
        raise TypeError("legacy_compatible must be a bool")


def _register_written(
    client: PlatformClient,
    path: Path,
    authentication: KeyEntry,
    encryption: KeyEntry,
    report: Progress,
) -> None:
    """Register the ETK of a keystore already on disk; a failure keeps the keystore."""
    report(Step.REGISTERING_ETK)
    try:
        register_etk(client, authentication, encryption)
    except EhcertError as error:
        raise registration_failed(path, error) from error


# --- operations ---------------------------------------------------------------------------


def request_certificate(
    client: PlatformClient,
    credential: EidCredential | DigitalKeyLogin,
    *,
    institution: str | None,
    application_id: str | None,
    out_dir: Path,
    password: str,
    environment_hint: str | None = None,
    now: dt.datetime,
    progress: Progress | None = None,
    key_size: int = KEY_POLICY.rsa_default_bits,
    encryption_key_size: int = KEY_POLICY.rsa_default_bits,
    legacy_compatible: bool = False,
    key_type: str | None = None,
) -> Path:
    """Request a certificate with an eID and write it with its new key to a keystore.

    ``credential`` is the eID, or for a person without one the digital key a
    registration office issued (the hybrid method; the holder's own certificate only).

    ``key_type`` (``rsa-2048``, ``rsa-3072``, ``ec-p256``, ``ec-p384``) is the type of
    both new keys, authentication and encryption (eHealth's second-generation
    certificates hold P-384 for both). Without it, RSA keys of ``key_size`` and
    ``encryption_key_size`` when either is not the default, else the platform's advice
    (:meth:`PlatformClient.default_key_type`). The eID's own key type is detected
    (``EidRequestSigner``) and has no bearing on the new keys.

    ``institution`` (``TYPE=ID``) asks for an organisation's certificate, optionally
    bound to ``application_id``; without it the certificate is the eID holder's own.
    ``environment_hint`` is the environment the caller expects (``acceptance`` or
    ``production``): with it the keystore's file name is known before anything is sent,
    so an existing file is refused before a certificate is spent. The name finally used
    comes from the platform's answer; if that one is taken after all, the serial number
    is appended rather than overwriting or dropping the new key. The keystore holds the
    entry ``authentication`` (key, certificate, chain), the new encryption key under its
    certificate's decimal serial and the CA certificates, and is written atomically with
    mode 0600; then the encryption key's ETK is registered (``manager.etk``). Returns
    the keystore's path. ``legacy_compatible`` writes it with the legacy algorithms older
    Java readers need (:func:`~ehcert.pki.keystore.dump_keystore`).
    """
    _check_legacy_flag(legacy_compatible)
    _require_aware(now)
    report = progress or _no_progress
    institution_id, app = _requested_holder(institution, application_id)
    check_new_password(password, field="password")
    if environment_hint is not None and environment_hint not in ENVIRONMENTS:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The environment {environment_hint!r} is unknown; use one of "
            f"{', '.join(ENVIRONMENTS)}.",
            field="environment",
        )
    _check_output_directory(out_dir)
    expected, journal_name = _planned_holder(credential, institution_id, app)
    if environment_hint is not None and expected is not None:
        planned = out_dir / keystore_filename(str(expected), now, environment_hint)
        if planned.exists():
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"The keystore {planned} already exists; move it away or choose "
                "another output directory.",
                field="out_dir",
            )

    journal = request_journal(out_dir, journal_name) if journal_name is not None else None
    pending = load_pending_keys(journal, password) if journal is not None else None
    if pending is None:
        key, encryption_key = _new_keys(
            key_type,
            key_size,
            encryption_key_size,
            advised=client.default_key_type,
            report=report,
        )
        if journal is not None:
            save_pending_keys(journal, (key, encryption_key), password)
    else:  # an interrupted request of this holder into this folder: the same key again
        key, encryption_key = pending
        written = _keystore_holding(out_dir, key, password)
        if written is not None and journal is not None:  # it got as far as the keystore
            discard_pending_keys(journal)
            path, authentication, encryption = written
            _register_written(client, path, authentication, encryption, report)
            return path
    csr = build_csr(key)
    report(Step.REQUESTING)
    with _journal_kept_unless_refused(journal):
        if isinstance(credential, DigitalKeyLogin):
            issued = client.request_with_digital_key(credential, csr)
        else:
            issued = client.request_certificate(
                EidRequestSigner(credential),
                csr,
                str(institution_id) if institution_id else None,
                app,
            )
    _check_certifies(issued, key)
    report(Step.WRITING_KEYSTORE)
    chain = _unique(issued.chain)
    entry = KeyEntry(AUTHENTICATION_ALIAS, key, issued.certificate, chain)
    encryption = encryption_entry(entry, encryption_key)
    keystore = Keystore((entry, encryption), chain)
    path = _write_new_keystore(
        out_dir, issued, keystore, password, now, legacy_compatible=legacy_compatible
    )
    if journal is not None:
        discard_pending_keys(journal)
    _register_written(client, path, entry, encryption, report)
    return path


def _current_key_type(current: KeyEntry) -> str:
    """The type of the keystore's authentication key, when it is one that is generated."""
    found = key_type_of(key_facts(current.private_key))
    return found.name if found is not None and found.name in REQUEST_KEY_TYPES else "rsa-2048"


def _new_keys(
    key_type: str | None,
    key_size: int,
    encryption_key_size: int,
    *,
    advised: Callable[[], str],
    report: Progress,
) -> tuple[PrivateKey, PrivateKey]:
    """The new authentication and encryption keys (see :func:`request_certificate`).

    The type is checked before anything is generated or asked, so a wrong one fails at
    once with the list of those allowed."""
    chosen = None if key_type is None else parse_key_type(key_type)
    default = KEY_POLICY.rsa_default_bits
    if chosen is None and (key_size != default or encryption_key_size != default):
        report(Step.GENERATING_KEY)
        return generate_rsa_key(key_size), generate_rsa_key(encryption_key_size)
    if chosen is None:
        chosen = parse_key_type(advised())
    report(Step.GENERATING_KEY)
    return generate_key(chosen), generate_key(chosen)


def _requested_holder(
    institution: str | None, application_id: str | None
) -> tuple[InstitutionId | None, str | None]:
    institution_id: InstitutionId | None = None
    if institution is not None:
        try:
            institution_id = InstitutionId.parse(institution)
        except ValueError as exc:
            raise EhcertError(
                ErrorKind.MALFORMED, f"The institution is invalid: {exc}.", field="institution"
            ) from None
    if application_id is not None:
        if institution_id is None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "An application id needs an institution; a certificate for a person has none.",
                field="application_id",
            )
        try:
            validate_application_id(application_id)
        except ValueError as exc:
            raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="application_id") from None
    return institution_id, application_id


def _planned_holder(
    credential: EidCredential | DigitalKeyLogin, institution: InstitutionId | None, app: str | None
) -> tuple[Holder | None, str | None]:
    """Who the certificate will name when that is known before asking (an eID says), and
    the name of the request's journal (``manager.pending``): the holder, or the digital
    key's username, whose holder only the platform knows."""
    if isinstance(credential, DigitalKeyLogin):
        if institution is not None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "A digital key requests its holder's own certificate only; an "
                "institution's needs the eID of its mandated certificate holder.",
                field="institution",
            )
        return None, f"digital-key={credential.username}"
    expected = _expected_holder(credential, institution, app)
    return expected, str(expected) if expected is not None else None


def _expected_holder(
    credential: EidCredential, institution: InstitutionId | None, app: str | None
) -> Holder | None:
    """Who the certificate will name: the institution, or the eID's SSIN (its subject
    ``serialNumber``). ``None`` when the eID does not say, so no name can be planned."""
    if institution is not None:
        return Holder(institution.type, institution.value, app)
    numbers = credential.certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    try:
        return Holder("SSIN", str(numbers[0].value)) if numbers else None
    except ValueError:
        return None


def renew_certificate(
    client: PlatformClient,
    keystore_path: Path,
    password: str,
    now: dt.datetime,
    *,
    progress: Progress | None = None,
    key_size: int = KEY_POLICY.rsa_default_bits,
    encryption_key_size: int = KEY_POLICY.rsa_default_bits,
    legacy_compatible: bool = False,
    key_type: str | None = None,
    digital_key: DigitalKeyLogin | None = None,
) -> Path:
    """Renew the keystore's certificate with a new key pair; return the NEW keystore's path.

    Signed with the current authentication key, or proven with ``digital_key`` (the
    hybrid method) when given.

    The new keys are of ``key_type`` when given (a holder may move from RSA to EC: the
    old RSA encryption keys stay in the keystore, so old messages still open), else of
    the current authentication key's type (RSA ``key_size`` when that is not the
    default).

    Signed with the current authentication key. Refused locally, before a key is made,
    outside the renewal window (policy: the 90 days before expiry). The new keystore is
    written next to the old one under a fresh ``keystore_filename`` (see the module
    docstring for why the old file is left as it is), with the same password. It also
    gets a new encryption key (certified by the new authentication key) next to every
    earlier one, and the new key's ETK is registered. ``legacy_compatible`` as in
    :func:`request_certificate`; the old file's own algorithms do not matter.

    The new keys are on disk before the request is sent (``manager.pending``): a renewal
    interrupted after the platform signed is completed by running it again.
    """
    _check_legacy_flag(legacy_compatible)
    _require_aware(now)
    report = progress or _no_progress
    keystore, current = _open_keystore(keystore_path, password)
    check_renewal_window(current.certificate.not_valid_after_utc, now)
    _check_output_directory(keystore_path.parent)

    journal = renewal_journal(keystore_path)
    pending = load_pending_keys(journal, password)
    if pending is None:
        key, encryption_key = _new_keys(
            key_type,
            key_size,
            encryption_key_size,
            advised=lambda: _current_key_type(current),
            report=report,
        )
        save_pending_keys(journal, (key, encryption_key), password)
    else:  # an interrupted renewal of this keystore: ask again for the same key
        key, encryption_key = pending
        written = _keystore_holding(keystore_path.parent, key, password)
        if written is not None:  # it even got as far as the new keystore
            discard_pending_keys(journal)
            renewed, authentication, encryption = written
            _register_written(client, renewed, authentication, encryption, report)
            return renewed
    csr = build_csr(key)
    report(Step.REQUESTING)
    with _journal_kept_unless_refused(journal):
        serial = serial_of(current.certificate)
        if digital_key is not None:
            issued = client.renew_with_digital_key(digital_key, csr, serial)
        else:
            issued = client.renew(KeyEntryRequestSigner(current), csr, serial)
    _check_certifies(issued, key)
    report(Step.WRITING_KEYSTORE)
    chain = _unique(issued.chain)
    entry = KeyEntry(current.alias, key, issued.certificate, chain)
    encryption = encryption_entry(entry, encryption_key)
    updated = renewed_keystore(keystore, entry).with_entry(encryption)
    path = _write_new_keystore(
        keystore_path.parent, issued, updated, password, now, legacy_compatible=legacy_compatible
    )
    discard_pending_keys(journal)
    _register_written(client, path, entry, encryption, report)
    return path


@contextmanager
def _journal_kept_unless_refused(journal: Path | None) -> Iterator[None]:
    """Around the request: a refusal means the journal's keys will never be certified, so
    it goes; a lost connection (UNAVAILABLE) keeps it for the next attempt."""
    try:
        yield
    except EhcertError as error:
        if journal is not None and error.kind is not ErrorKind.UNAVAILABLE:
            discard_pending_keys(journal)
        raise


def _keystore_holding(
    folder: Path, key: PrivateKey, password: str
) -> tuple[Path, KeyEntry, KeyEntry] | None:
    """The keystore of ``folder`` whose authentication key is ``key``, if one was written,
    with its authentication entry and the encryption entry that certificate vouches for."""
    wanted = key.public_key().public_numbers()
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.endswith((".acc-p12", ".p12")):
            continue
        try:
            keystore = read_keystore_file(path, password)
            authentication = keystore.authentication()
        except EhcertError:
            continue
        if authentication.private_key.public_key().public_numbers() != wanted:
            continue
        for entry in reversed(keystore.encryption_keys()):
            if entry.chain and entry.chain[0] == authentication.certificate:
                return path, authentication, entry
    return None


def renewed_keystore(keystore: Keystore, authentication: KeyEntry) -> Keystore:
    """``keystore`` with its authentication entry replaced and everything else kept.

    Encryption keys of earlier certificates (decimal-serial aliases) and entries this
    package cannot use stay, so old messages still open and nothing the file held is
    lost; the new chain's CA certificates join the old ones.
    """
    renewed = keystore.with_entry(authentication)
    ca_certificates = _unique((*authentication.chain, *keystore.ca_certificates))
    return Keystore(renewed.entries, ca_certificates, renewed.unsupported_entries)


def revoke_certificate(
    client: PlatformClient, keystore_path: Path, password: str, reason: str
) -> CertificateStatus:
    """Revoke the keystore's own certificate, signing with its authentication key."""
    canonical = validate_revocation_reason(reason)
    _, current = _open_keystore(keystore_path, password)
    return client.revoke(KeyEntryRequestSigner(current), serial_of(current.certificate), canonical)


def revoke_with_eid(
    client: PlatformClient, credential: EidCredential, serial: str, reason: str
) -> CertificateStatus:
    """Revoke certificate ``serial`` proving identity with the eID (the keystore is lost)."""
    canonical = validate_revocation_reason(reason)
    try:
        serial_hex = normalise_serial(serial)
    except ValueError as exc:
        raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="serial") from None
    return client.revoke(EidRequestSigner(credential), serial_hex, canonical)


def revoke_with_digital_key(
    client: PlatformClient, login: DigitalKeyLogin, serial: str, reason: str
) -> CertificateStatus:
    """Revoke certificate ``serial`` proving identity with a digital key (the keystore is
    lost; the hybrid method)."""
    canonical = validate_revocation_reason(reason)
    try:
        serial_hex = normalise_serial(serial)
    except ValueError as exc:
        raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="serial") from None
    return client.revoke_with_digital_key(login, serial_hex, canonical)


def describe_keystore(keystore_path: Path, password: str, now: dt.datetime) -> CertificateView:
    """The local view of a keystore's authentication certificate (no platform call)."""
    _, current = _open_keystore(keystore_path, password)
    return describe_certificate(current.certificate, now)


def certificate_status(
    client: PlatformClient, keystore_path: Path, password: str, now: dt.datetime
) -> StatusReport:
    """What the keystore's certificate is at ``now``, locally and according to the platform."""
    _require_aware(now)
    _, current = _open_keystore(keystore_path, password)
    view = describe_certificate(current.certificate, now)
    return StatusReport(keystore_path, view, client.status(view.serial))
