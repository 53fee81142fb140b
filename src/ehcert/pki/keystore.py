"""The eHealth PKCS#12 keystore: every key in the file, read and written safely.

An eHealth keystore (as written by the eHealth Certificate Manager and read by the eHealth
connector libraries) is a PKCS#12 file (RFC 7292) holding:

* the ``authentication`` key entry (also spelled ``Authentication``) with its certificate
  and chain;
* one encryption key entry per encryption certificate ever issued, whose alias is that
  certificate's serial number in decimal; old ones stay so old messages still open;
* CA certificates as certificate bags whose friendlyName is their DN.

A file therefore holds SEVERAL private keys, which ``cryptography``'s ``load_pkcs12``
cannot return, so :mod:`ehcert.pki.pkcs12_pfx` walks the SafeContents with ``asn1crypto``,
removes the password protection (:mod:`ehcert.pki.pkcs12_pbe`) and hands back plain bags;
:mod:`ehcert.pki.keystore_entries` gives them their eHealth meaning (key entries, CA
certificates); this module reads, writes and handles the files, and re-exports the entry
types so every name stays importable from here.

Linking keys to certificates: a key bag and its certificate bag share a localKeyId
(PKCS#9 attribute, RFC 2985 section 5.5.2), but files in the field reuse one localKeyId
for two keys, so the certificate is chosen by public key, the localKeyId only breaking
ties. Chains are rebuilt from all certificates in the file by issuer DN, preferring the
candidate whose signature verifies; a name-only match is kept when nothing verifies so a
broken chain stays visible to path validation instead of silently vanishing
(:func:`ehcert.pki.pkcs12_pfx.chain_for`).

Writing (``dump_keystore``) uses strong algorithms by default, whatever the file was read
with: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC for every key and for the
certificates, an HMAC-SHA256 MAC, friendlyName + localKeyId on each key and its
certificate, every other certificate once with its DN as friendlyName, and explicitly
trusted CA certificates marked with the Java trusted-key-usage attribute so Java
keystores list them as trusted entries.

``legacy_compatible=True`` is for readers that know nothing newer (Java 8 before update
301 reads neither PBES2 nor a SHA-256 MAC): keys AND certificates under
pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA1 MAC, keyed by the RFC 7292 appendix B
KDF over the BMPString password. Not RC2-40 for the certificates (the old Java and openssl
default): its 40-bit key falls to a search without the password, and readers of 3DES key
bags decrypt 3DES certificates too. :data:`LEGACY_DEFAULT_ITERATIONS` is Java 8's own MAC
count (50 times openssl's 2048). Still weaker than the default (a guess costs 100 000
SHA-1 blocks, not 1.2 million SHA-256 ones), so the interfaces warn when it is chosen.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KeyProblem
from ehcert.pki.checked_keys import load_checked_private_key, remember_checked
from ehcert.pki.keystore_entries import (
    KeyEntry,
    Keystore,
    UnsupportedKeyEntry,
    alias_identity,
)
from ehcert.pki.pkcs12_pbe import MAX_ITERATIONS, PbeError, WrongPasswordError
from ehcert.pki.pkcs12_pfx import (
    CertificateInFile,
    PlainBag,
    certificates_in,
    chain_for,
    open_pfx,
    public_key_der,
    seal_pfx,
)
from ehcert.pki.public_keys import (
    certificate_key_problem,
    private_key_info_problem,
    public_key_problem,
)

# The entry types moved to keystore_entries; every name listed stays importable from here.
__all__ = [
    "DEFAULT_ITERATIONS",
    "LEGACY_DEFAULT_ITERATIONS",
    "LEGACY_MAX_ITERATIONS",
    "LEGACY_MIN_ITERATIONS",
    "MAX_KEYSTORE_BYTES",
    "MIN_ITERATIONS",
    "change_keystore_password",
    "dump_keystore",
    "keystore_filename",
    "load_keystore",
    "read_keystore_file",
    "write_keystore_file",
]

# OWASP Password Storage Cheat Sheet (2023) for PBKDF2-HMAC-SHA256. The MAC uses the same
# count: a MAC with fewer iterations would be a cheaper password-guessing oracle than the
# encryption. Cost: about half a second per load or write, once per program run.
DEFAULT_ITERATIONS = 600_000
# RFC 8018 section 4.2 recommends at least 1000 iterations.
MIN_ITERATIONS = 1_000
# Legacy mode (module docstring): Java 8's MAC count; openssl's default as the floor;
# Java's PKCS12KeyStore refuses a file whose counts exceed 5 000 000.
LEGACY_DEFAULT_ITERATIONS = 100_000
LEGACY_MIN_ITERATIONS = 2_048
LEGACY_MAX_ITERATIONS = 5_000_000

# Real keystores are a few kilobytes; refuse to parse anything absurdly larger.
MAX_KEYSTORE_BYTES = 4 * 1024 * 1024

_ENVIRONMENT_SUFFIXES = {"acceptance": ".acc-p12", "production": ".p12"}


# ---------------------------------------------------------------------------- reading


def _wrong_password() -> EhcertError:
    return EhcertError(ErrorKind.UNAUTHORIZED, "The keystore password is wrong.", field="password")


def _malformed(reason: str) -> EhcertError:
    return EhcertError(
        ErrorKind.MALFORMED, f"The keystore cannot be read: {reason}.", field="keystore"
    )


def _assemble(bags: list[PlainBag]) -> Keystore:
    """Turn plain bags into entries: pick each key's certificate, then its chain."""
    pool = certificates_in(bags)
    entries: list[KeyEntry] = []
    unsupported: list[UnsupportedKeyEntry] = []
    in_entries: set[bytes] = set()
    aliases: set[str] = set()
    key_bags = [bag for bag in bags if bag.kind == "key"]
    for index, key_bag in enumerate(key_bags, start=1):
        private_key = _private_key(key_bag.der)
        key_spki = public_key_der(private_key.public_key())
        leaf = max(
            (c for c in pool if c.spki == key_spki),
            key=lambda c: (
                key_bag.local_key_id in c.local_key_ids,
                c.certificate.not_valid_before_utc,
            ),
            default=None,
        )
        alias = key_bag.friendly_name
        if not alias and leaf is not None and key_bag.local_key_id in leaf.local_key_ids:
            alias = leaf.friendly_name
        alias = alias or f"entry-{index}"
        if alias_identity(alias) in aliases:
            raise _malformed(f"two key entries are named '{alias}'")
        aliases.add(alias_identity(alias))
        chain = chain_for(leaf, pool) if leaf is not None else []
        in_entries.update(c.der for c in ([leaf] if leaf else []) + chain)
        chain_certificates = tuple(c.certificate for c in chain)
        problem = _entry_key_problem(key_bag.der, private_key, leaf, alias)
        if leaf is not None and problem is None and isinstance(private_key, _USABLE_KEYS):
            entries.append(KeyEntry(alias, private_key, leaf.certificate, chain_certificates))
        else:
            certificate = None if leaf is None else leaf.certificate
            unsupported.append(
                UnsupportedKeyEntry(
                    alias,
                    private_key,
                    certificate,
                    chain_certificates,
                    None if problem is None else problem.detail,
                )
            )
    ca_certificates = tuple(c.certificate for c in pool if c.trusted or c.der not in in_entries)
    return Keystore(tuple(entries), ca_certificates, tuple(unsupported))


_USABLE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)


def _private_key(pkcs8_der: bytes) -> PrivateKeyTypes:
    """A key bag's PKCS#8 key; a key ``cryptography`` cannot load (an EC curve it does not
    know, a point off its curve) is refused in one sentence."""
    try:
        return load_checked_private_key(pkcs8_der)  # checked once per process
    except (ValueError, UnsupportedAlgorithm) as exc:
        problem = private_key_info_problem(pkcs8_der, "keystore key")
        if problem is None:
            raise  # damaged: the caller's MALFORMED
        raise EhcertError(ErrorKind.BAD_KEY, problem.detail, field="keystore") from exc


def _entry_key_problem(
    pkcs8_der: bytes, key: PrivateKeyTypes, leaf: CertificateInFile | None, alias: str
) -> KeyProblem | None:
    """Why entry ``alias``'s EC key is outside the key policy (its encoding, its curve,
    its certificate's SubjectPublicKeyInfo), or None. An RSA key is read whatever its
    size, as always: whoever uses it judges the size (a sealed message's report says
    ``key_size``), so an old small key still opens what was sealed for it."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    what = f"key of entry '{alias}'"
    problem = private_key_info_problem(pkcs8_der, what) or public_key_problem(key, what)
    if problem is None and leaf is not None:
        problem = certificate_key_problem(leaf.certificate, what)
    return problem


def load_keystore(data: bytes, password: str) -> Keystore:
    """Read every key entry and certificate of a PKCS#12 keystore, legacy or modern.

    Raises EhcertError UNAUTHORIZED (field ``password``) when the password is wrong,
    MALFORMED when the data is not a readable PKCS#12 keystore, PAYLOAD_TOO_LARGE above
    :data:`MAX_KEYSTORE_BYTES`.
    """
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    if len(data) > MAX_KEYSTORE_BYTES:
        raise EhcertError(
            ErrorKind.PAYLOAD_TOO_LARGE,
            f"The keystore is larger than {MAX_KEYSTORE_BYTES} bytes.",
            field="keystore",
        )
    try:
        return _assemble(open_pfx(data, password))
    except WrongPasswordError as error:
        raise _wrong_password() from error
    except PbeError as error:
        raise _malformed(str(error)) from error
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        # cryptography reports an undecodable key or certificate this way.
        raise _malformed("a key or certificate inside it is damaged or unsupported") from error


# ---------------------------------------------------------------------------- writing


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _iteration_count(iterations: int | None, legacy_compatible: bool) -> int:
    """The count to write: the mode's default for None, else checked against its range."""
    if not isinstance(legacy_compatible, bool):
        raise TypeError("legacy_compatible must be a bool")
    if iterations is None:
        return LEGACY_DEFAULT_ITERATIONS if legacy_compatible else DEFAULT_ITERATIONS
    if not isinstance(iterations, int) or isinstance(iterations, bool):
        raise TypeError("iterations must be an int")
    legacy_range = (LEGACY_MIN_ITERATIONS, LEGACY_MAX_ITERATIONS)
    low, high = legacy_range if legacy_compatible else (MIN_ITERATIONS, MAX_ITERATIONS)
    if not low <= iterations <= high:
        raise ValueError(f"iterations must be between {low} and {high}")
    return iterations


def dump_keystore(
    keystore: Keystore,
    password: str,
    *,
    iterations: int | None = None,
    legacy_compatible: bool = False,
) -> bytes:
    """Serialise ``keystore`` as PKCS#12 with PBES2/AES-256 and an HMAC-SHA256 MAC, or
    with ``legacy_compatible`` under 3DES and an HMAC-SHA1 MAC (module docstring).

    Each key and its certificate carry the alias as friendlyName and a shared localKeyId
    (SHA-256 of the certificate); every other certificate is written once with its DN
    (RFC 4514) as friendlyName, and those in ``ca_certificates`` are marked trusted.
    ``iterations`` defaults to :data:`DEFAULT_ITERATIONS`, or
    :data:`LEGACY_DEFAULT_ITERATIONS` in legacy mode.
    """
    if not isinstance(keystore, Keystore):
        raise TypeError("keystore must be a Keystore")
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    count = _iteration_count(iterations, legacy_compatible)
    if not password:
        raise ValueError("password must not be empty")
    trusted = {_der(c) for c in keystore.ca_certificates}
    key_bags: list[PlainBag] = []
    certificate_bags: list[PlainBag] = []
    written: set[bytes] = set()
    for entry in keystore.entries + keystore.unsupported_entries:
        leaf = None if entry.certificate is None else _der(entry.certificate)
        local_key_id = hashlib.sha256(
            leaf or public_key_der(entry.private_key.public_key())
        ).digest()
        pkcs8 = entry.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        remember_checked(pkcs8)  # read back in this process: no second RSA key check
        key_bags.append(PlainBag("key", pkcs8, entry.alias, local_key_id))
        if leaf is not None and leaf not in written:
            bag = PlainBag("certificate", leaf, entry.alias, local_key_id, leaf in trusted)
            certificate_bags.append(bag)
            written.add(leaf)
    others = [c for e in keystore.entries + keystore.unsupported_entries for c in e.chain]
    for certificate in others + list(keystore.ca_certificates):
        der = _der(certificate)
        if der not in written:
            name = certificate.subject.rfc4514_string()
            certificate_bags.append(PlainBag("certificate", der, name, None, der in trusted))
            written.add(der)
    return seal_pfx(
        certificate_bags + key_bags, password, iterations=count, legacy=legacy_compatible
    )


# ---------------------------------------------------------------------------- files


def _check_path(path: object) -> Path:
    if not isinstance(path, Path):
        raise TypeError("path must be a pathlib.Path")
    return path


def _file_error(error: OSError, path: Path) -> EhcertError:
    if isinstance(error, FileNotFoundError):
        return EhcertError(ErrorKind.NOT_FOUND, f"There is no file at {path}.", field="path")
    if isinstance(error, PermissionError):
        return EhcertError(ErrorKind.FORBIDDEN, f"Access to {path} is denied.", field="path")
    if isinstance(error, IsADirectoryError):
        return EhcertError(ErrorKind.MALFORMED, f"{path} is a folder, not a file.", field="path")
    return EhcertError(
        ErrorKind.UNAVAILABLE, f"{path} cannot be accessed: {error.strerror}.", field="path"
    )


def read_keystore_file(path: Path, password: str) -> Keystore:
    """Read and decrypt the keystore at ``path`` (see :func:`load_keystore`)."""
    path = _check_path(path)
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEYSTORE_BYTES + 1)
    except OSError as error:
        raise _file_error(error, path) from error
    return load_keystore(data, password)


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a 0600 temporary file beside ``path``, fsync, then rename over it.

    ``mkstemp`` creates the file with mode 0600, so the key material is never readable by
    others, not even for a moment; ``os.replace`` is atomic on POSIX, so readers see the
    old file or the new one, never a mixture. The folder is fsynced so the rename survives
    a crash.
    """
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # not every platform can open a folder
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def write_keystore_file(
    path: Path,
    keystore: Keystore,
    password: str,
    *,
    iterations: int | None = None,
    legacy_compatible: bool = False,
) -> None:
    """Write ``keystore`` to ``path`` atomically with mode 0600 (see :func:`dump_keystore`)."""
    path = _check_path(path)
    data = dump_keystore(
        keystore, password, iterations=iterations, legacy_compatible=legacy_compatible
    )
    try:
        _replace_atomically(path, data)
    except OSError as error:
        raise _file_error(error, path) from error


def change_keystore_password(
    path: Path,
    old_password: str,
    new_password: str,
    *,
    iterations: int | None = None,
    legacy_compatible: bool = False,
) -> None:
    """Re-encrypt the keystore at ``path`` under ``new_password``, atomically.

    The old password is verified by reading the file first; a wrong one raises
    EhcertError(UNAUTHORIZED) and leaves the file untouched. The rewrite uses the modern
    algorithms, so this also upgrades legacy 3DES/RC2 files, unless ``legacy_compatible``
    asks for the legacy ones (see :func:`dump_keystore`).
    """
    path = _check_path(path)
    if not isinstance(old_password, str) or not isinstance(new_password, str):
        raise TypeError("passwords must be str")
    if not new_password:
        raise ValueError("new_password must not be empty")
    _iteration_count(iterations, legacy_compatible)  # refuse bad arguments before reading
    keystore = read_keystore_file(path, old_password)
    write_keystore_file(
        path,
        keystore,
        new_password,
        iterations=iterations,
        legacy_compatible=legacy_compatible,
    )


def keystore_suffix(environment: str) -> str:
    """The keystore extension of ``environment``: ``.acc-p12`` in acceptance, ``.p12`` in
    production, so a file says where its certificate works (the eHealth Certificate
    Manager's rule); any other word is production's, the safe reading of ``.p12``."""
    return _ENVIRONMENT_SUFFIXES.get(environment, ".p12")


def keystore_filename(holder: str, created: datetime, environment: str) -> str:
    """The eHealth Certificate Manager file name: ``<holder> yyyyMMdd-HHmmss.<ext>``.

    ``holder`` is e.g. ``SSIN=79021802145`` or ``NIHII-HOSPITAL=71000436,MYAPP``; the time
    is written in UTC; the extension is ``.acc-p12`` in acceptance, ``.p12`` in production.
    """
    if not isinstance(holder, str):
        raise TypeError("holder must be a str")
    if not isinstance(created, datetime):
        raise TypeError("created must be a datetime")
    if not isinstance(environment, str):
        raise TypeError("environment must be a str")
    if not holder or holder != holder.strip() or not holder.isprintable():
        raise ValueError("holder must be a non-empty printable name without outer spaces")
    if any(character in holder for character in "/\\"):
        raise ValueError("holder must not contain a path separator")
    if created.tzinfo is None or created.utcoffset() is None:
        raise ValueError("created must be timezone-aware")
    if environment not in _ENVIRONMENT_SUFFIXES:
        raise ValueError("environment must be 'acceptance' or 'production'")
    stamp = created.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{holder} {stamp}{_ENVIRONMENT_SUFFIXES[environment]}"
