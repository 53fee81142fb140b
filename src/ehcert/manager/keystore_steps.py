"""The steps a certificate request and a renewal share: keys, keystore files, ETK.

Each step keeps the rule of :mod:`ehcert.manager.certificates` that applies to it: the
output folder is checked before a key is made, a key the platform certified is always
written (a name clash picks another name), and a keystore is on disk before its ETK is
registered.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from cryptography import x509

from ehcert.client.keys import (
    generate_key,
    generate_rsa_key,
)
from ehcert.client.platform import PlatformClient
from ehcert.client.results import IssuedCertificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_POLICY
from ehcert.core.keys import key_type as parse_key_type
from ehcert.core.names import parse_ehealth_subject
from ehcert.manager.etk import register_etk, registration_failed
from ehcert.manager.pending import (
    discard_pending_keys,
)
from ehcert.pki.keystore import (
    keystore_filename,
    keystore_suffix,
    read_keystore_file,
    write_keystore_file,
)
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.public_keys import PrivateKey


class Step(StrEnum):
    """Where a long operation is, for a spinner or a progress line."""

    GENERATING_KEY = "generating-key"
    REQUESTING = "requesting"
    WRITING_KEYSTORE = "writing-keystore"
    REGISTERING_ETK = "registering-etk"


Progress = Callable[[Step], None]


def no_progress(step: Step) -> None:
    del step


def require_aware(now: dt.datetime) -> None:
    if not isinstance(now, dt.datetime):
        raise TypeError("now must be a datetime")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


# --- keystore files -----------------------------------------------------------------------


def check_output_directory(out_dir: Path) -> None:
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


def free_path(path: Path, serial: str) -> Path:
    """``path``, or when it is taken the same name with the serial appended: never overwrite."""
    if not path.exists():
        return path
    candidate = path.with_name(f"{path.stem}-{serial}{path.suffix}")
    counter = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{serial}-{counter}{path.suffix}")
        counter += 1
    return candidate


def open_keystore(path: Path, password: str) -> tuple[Keystore, KeyEntry]:
    if not path.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"The keystore {path} does not exist.", field="keystore"
        )
    keystore = read_keystore_file(path, password)
    return keystore, keystore.authentication()


def check_certifies(issued: IssuedCertificate, key: PrivateKey) -> None:
    """The platform must have certified *our* key; anything else is useless and suspect."""
    if issued.certificate.public_key() != key.public_key():
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The platform returned certificate {issued.serial} for a different public key "
            "than the one requested; it was not stored.",
        )


def unique(certificates: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...]:
    return tuple(dict.fromkeys(certificates))


def new_keystore_name(issued: IssuedCertificate, now: dt.datetime) -> str:
    """``keystore_filename`` for the holder the certificate names (CN/OU, not the answer's
    claim). Should the platform send something unusable, the serial names the file, with
    the environment's extension all the same: the key must be saved whatever its name."""
    try:
        holder = parse_ehealth_subject(issued.certificate.subject).holder_text
        return keystore_filename(holder, now, issued.environment)
    except ValueError:
        return f"ehcert-{issued.serial}{keystore_suffix(issued.environment)}"


def write_new_keystore(
    directory: Path,
    issued: IssuedCertificate,
    keystore: Keystore,
    password: str,
    now: dt.datetime,
    *,
    legacy_compatible: bool,
) -> Path:
    path = free_path(directory / new_keystore_name(issued, now), issued.serial)
    write_keystore_file(path, keystore, password, legacy_compatible=legacy_compatible)
    return path


def check_legacy_flag(legacy_compatible: object) -> None:
    """Checked first: a bad argument must not surface after a certificate was issued."""
    if not isinstance(legacy_compatible, bool):
        raise TypeError("legacy_compatible must be a bool")


def register_written(
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


def new_keys(
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


@contextmanager
def journal_kept_unless_refused(journal: Path | None) -> Iterator[None]:
    """Around the request: a refusal means the journal's keys will never be certified, so
    it goes; a lost connection (UNAVAILABLE) keeps it for the next attempt."""
    try:
        yield
    except EhcertError as error:
        if journal is not None and error.kind is not ErrorKind.UNAVAILABLE:
            discard_pending_keys(journal)
        raise


def keystore_holding(
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
