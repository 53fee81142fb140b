"""Changing a keystore's password without ever risking the keystore, and judging passwords.

The keystore holds the only copy of the holder's private keys (DESIGN.md: the server
never sees one), so a password change must leave either the old file or the new one on
disk whatever happens: a crash, a kill, a full disk, a power cut. The steps:

1. read the file with the old password; a wrong one is refused before anything is
   written (and the file is untouched);
2. encode the same content under the new password (PBES2/AES-256, HMAC-SHA256 MAC,
   or on request the legacy 3DES/HMAC-SHA1 that older Java readers need,
   :func:`~ehcert.pki.keystore.dump_keystore`);
3. write it to a *new* hidden file in the same folder (``O_CREAT | O_EXCL``, mode 0600,
   so it is never readable by others nor a file someone prepared), ``flush`` and
   ``fsync`` it, so its bytes are on the disk before the name changes;
4. read that file back *from disk* with the new password and check it holds exactly the
   same keys and certificates as the original: a bad write, a wrong encoding or a
   password mix-up is caught while the old file is still in place;
5. ``os.replace`` it over the old name (atomic on POSIX: rename(2)), then ``fsync`` the
   folder so the rename itself is durable.

Until step 5 the old file is untouched; from step 5 on the new file is complete and
checked. A crash leaves at most a hidden ``.<name>.<random>.new`` file, removed by the
next change of that keystore and never listed as a keystore. ``checkpoint`` is called
after each step so a test can kill the process there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import dump_keystore, read_keystore_file
from ehcert.pki.keystore_entries import Keystore

TEMPORARY_SUFFIX = ".new"
MIN_PASSWORD_LENGTH = 12
# A passphrase this long is strong enough whatever letters it uses (NIST SP 800-63B
# section 5.1.1.2 prefers length over composition rules).
PASSPHRASE_LENGTH = 20

# Passwords any guesser tries first, in the three languages of the users (lower case).
_COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password123",
        "passw0rd",
        "motdepasse",
        "wachtwoord",
        "azerty",
        "azertyuiop",
        "qwerty",
        "qwertyuiop",
        "123456789012",
        "letmein",
        "welcome",
        "bienvenue",
        "welkom",
        "ehealth",
        "ehealth123",
        "changeme",
        "secret",
        "test",
    }
)


class ChangeStep(StrEnum):
    """The points of :func:`change_password` after which a crash is survivable."""

    OLD_READ = "old-read"
    TEMPORARY_CREATED = "temporary-created"
    HALF_WRITTEN = "half-written"
    TEMPORARY_SYNCED = "temporary-synced"
    VERIFIED = "verified"
    RENAMED = "renamed"
    FOLDER_SYNCED = "folder-synced"


Checkpoint = Callable[[ChangeStep], None]


class PasswordProblem(StrEnum):
    """Why a new password is refused; each user interface words it in its language."""

    EMPTY = "empty"
    TOO_SHORT = "too-short"
    TOO_SIMPLE = "too-simple"
    COMMON = "common"


PROBLEM_SENTENCES = {
    PasswordProblem.EMPTY: "The new password is empty.",
    PasswordProblem.TOO_SHORT: (
        f"The new password is too short; use at least {MIN_PASSWORD_LENGTH} characters."
    ),
    PasswordProblem.TOO_SIMPLE: (
        "The new password is too simple; mix upper and lower case letters, digits and "
        f"symbols, or use a passphrase of at least {PASSPHRASE_LENGTH} characters."
    ),
    PasswordProblem.COMMON: "The new password is one of the first ones anybody would try.",
}


def password_problems(password: str) -> tuple[PasswordProblem, ...]:
    """What is wrong with ``password`` as a keystore password; empty when it is fine.

    Rules: at least :data:`MIN_PASSWORD_LENGTH` characters; below
    :data:`PASSPHRASE_LENGTH`, at least three of lower case, upper case, digits and
    other characters, and not one character repeated; never a well-known password.
    """
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    if not password:
        return (PasswordProblem.EMPTY,)
    problems: list[PasswordProblem] = []
    if password.strip().lower() in _COMMON_PASSWORDS:
        problems.append(PasswordProblem.COMMON)
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(PasswordProblem.TOO_SHORT)
    elif len(password) < PASSPHRASE_LENGTH:
        classes = sum(
            (
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password),
            )
        )
        if classes < 3 or len(set(password)) < 4:
            problems.append(PasswordProblem.TOO_SIMPLE)
    return tuple(problems)


def check_new_password(password: str, *, field: str = "new_password") -> None:
    """Refuse a weak password for a keystore about to be written, with one sentence.

    The one rule for every path that writes a keystore under a password chosen now:
    ``cert request`` and the web request flow (field ``password``) and
    ``change-password`` (field ``new_password``). Renewal keeps the keystore's existing
    password, so it is not judged again there.
    """
    problems = password_problems(password)
    if problems:
        raise EhcertError(ErrorKind.MALFORMED, PROBLEM_SENTENCES[problems[0]], field=field)


def _fingerprint(keystore: Keystore) -> tuple[object, ...]:
    """Everything a keystore holds, comparable: aliases, keys, certificates, CA certificates."""

    def der(certificate: object) -> bytes:
        return certificate.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined, no-any-return]

    entries = sorted(
        (
            entry.alias,
            entry.private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            b"" if entry.certificate is None else der(entry.certificate),
            tuple(der(c) for c in entry.chain),
        )
        for entry in keystore.entries + keystore.unsupported_entries
    )
    return (tuple(entries), frozenset(der(c) for c in keystore.ca_certificates))


def leftover_temporaries(path: Path) -> list[Path]:
    """Temporary files an interrupted password change of ``path`` left behind."""
    prefix = f".{path.name}."
    return [
        candidate
        for candidate in path.parent.iterdir()
        if candidate.name.startswith(prefix) and candidate.name.endswith(TEMPORARY_SUFFIX)
    ]


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write_new_file(temporary: Path, data: bytes, checkpoint: Checkpoint) -> None:
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        checkpoint(ChangeStep.TEMPORARY_CREATED)
        half = len(data) // 2
        handle.write(data[:half])
        handle.flush()
        checkpoint(ChangeStep.HALF_WRITTEN)
        handle.write(data[half:])
        handle.flush()
        os.fsync(handle.fileno())
    checkpoint(ChangeStep.TEMPORARY_SYNCED)


def _no_checkpoint(step: ChangeStep) -> None:
    del step


def change_password(
    path: Path,
    old_password: str,
    new_password: str,
    *,
    iterations: int | None = None,
    check_strength: bool = True,
    checkpoint: Checkpoint | None = None,
    legacy_compatible: bool = False,
) -> None:
    """Re-encrypt the keystore at ``path`` under ``new_password``; crash-safe (module doc).

    Refusals (nothing written): EhcertError UNAUTHORIZED for a wrong old password,
    MALFORMED for a weak new password (``check_strength``, see :func:`password_problems`)
    or one equal to the old, NOT_FOUND when there is no file. Every keystore this
    package reads is accepted, legacy ones included; the result is written with the
    modern algorithms, or with ``legacy_compatible`` with the legacy ones older Java
    readers need (:func:`~ehcert.pki.keystore.dump_keystore`; ``iterations`` defaults to
    the mode's count).
    """
    if not isinstance(path, Path):
        raise TypeError("path must be a pathlib.Path")
    if not isinstance(old_password, str) or not isinstance(new_password, str):
        raise TypeError("passwords must be str")
    step = checkpoint or _no_checkpoint
    if check_strength:
        check_new_password(new_password)
    elif not new_password:
        raise EhcertError(ErrorKind.MALFORMED, "The new password is empty.", field="new_password")
    if new_password == old_password:
        raise EhcertError(
            ErrorKind.MALFORMED,
            "The new password is the same as the old one.",
            field="new_password",
        )
    original = read_keystore_file(path, old_password)
    step(ChangeStep.OLD_READ)
    for leftover in leftover_temporaries(path):
        with contextlib.suppress(OSError):
            leftover.unlink()
    data = dump_keystore(
        original, new_password, iterations=iterations, legacy_compatible=legacy_compatible
    )
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}")
    try:
        _write_new_file(temporary, data, step)
        written = read_keystore_file(temporary, new_password)
        if _fingerprint(written) != _fingerprint(original):
            raise EhcertError(
                ErrorKind.INTERNAL,
                f"The re-encrypted keystore read back from {temporary} differs from the "
                "original; the keystore was left unchanged.",
            )
        step(ChangeStep.VERIFIED)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    step(ChangeStep.RENAMED)
    _sync_folder(path.parent)
    step(ChangeStep.FOLDER_SYNCED)
