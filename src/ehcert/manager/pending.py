"""The new keys of a request or renewal in flight, kept on disk until the new keystore is.

A certificate is renewed once (the platform refuses a second successor), so a renewal
whose answer is lost, or whose process is killed after the platform signed and before
the new keystore was renamed into place, must not lose the new key: the holder could
not renew again. Before the request is sent the two new private keys (authentication
and encryption) are written next to the keystore, encrypted under the keystore's own
password (PKCS#8, RFC 5958, PBES2), atomically and with mode 0600
(:func:`~ehcert.pki.files.write_private_file`), as the hidden file
``.<keystore name>.renewal-keys``. Running the renewal again finds them and sends the
same CSR; the platform answers a repeated renewal with the successor it already issued
(``ra.service``), and the keystore is written. The file is removed once the new
keystore is durable, or when the platform refused the renewal outright.

A request works the same way, with ``.<holder>.request-keys`` in the output folder
(the holder as ``keystore_filename`` writes it): a request interrupted after the
platform signed is completed by requesting again with the same eID into the same
folder; the platform answers the same key from the same requester with the
certificate it already issued.

Hidden files are never listed as keystores (:func:`ehcert.manager.keystores.find_keystores`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ehcert.pki.files import write_private_file
from ehcert.pki.public_keys import PrivateKey

_PEM_END = b"-----END ENCRYPTED PRIVATE KEY-----"


def renewal_journal(keystore: Path) -> Path:
    """Where the new keys of a renewal of ``keystore`` wait."""
    return keystore.with_name(f".{keystore.name}.renewal-keys")


def request_journal(out_dir: Path, holder: str) -> Path:
    """Where the new keys of a request for ``holder`` into ``out_dir`` wait."""
    return out_dir / f".{holder}.request-keys"


def save_pending_keys(journal: Path, keys: tuple[PrivateKey, PrivateKey], password: str) -> None:
    """Write the renewal's (authentication, encryption) keys, durably, before sending."""
    encryption = serialization.BestAvailableEncryption(password.encode("utf-8"))
    pem = b"".join(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        for key in keys
    )
    write_private_file(journal, pem)


def load_pending_keys(journal: Path, password: str) -> tuple[PrivateKey, PrivateKey] | None:
    """The keys of an interrupted request or renewal, or None when there are none.

    A file that does not open with ``password`` or holds anything but two RSA or EC keys is
    treated as absent (a renewal with fresh keys then replaces it).
    """
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return None
    blocks = [block + _PEM_END for block in data.split(_PEM_END) if block.strip()]
    keys: list[PrivateKey] = []
    for block in blocks:
        try:
            key = serialization.load_pem_private_key(block, password.encode("utf-8"))
        except (ValueError, TypeError):
            return None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            return None
        keys.append(key)
    if len(keys) != 2:
        return None
    return keys[0], keys[1]


def discard_pending_keys(path: Path) -> None:
    """Remove the file, and make the removal durable (the folder is fsynced)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    with contextlib.suppress(OSError):  # not every platform can open a folder
        descriptor = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
