"""Certificate Manager: encryption keys and their ETKs.

With every certificate (request and renewal) the manager makes an encryption key pair,
certifies it with the NEW authentication key (``client.keys.build_encryption_certificate``)
and keeps it in the keystore under the decimal serial of its certificate; earlier
encryption keys stay, so messages sealed for them still open (DESIGN.md, "Renew").

Registration of the ETK happens right after the keystore is written: the keystore is
the one thing that must never be lost, the ETK can always be registered again. If that
second step fails, the keystore is kept and ``ehcert etk register --keystore FILE``
retries it (:func:`register_keystore_etk`). The ETK itself is NOT written to disk: it is
public, the depot serves it to whoever seals for the holder, and a local copy could only
go stale; ``ehcert etk get`` fetches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from ehcert.client.keys import (
    KeyEntryRequestSigner,
    build_encryption_certificate,
    decrypt_challenge,
)
from ehcert.client.platform import PlatformClient
from ehcert.client.results import PublishedEtk
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.public_keys import PrivateKey


def encryption_entry(authentication: KeyEntry, encryption_key: PrivateKey) -> KeyEntry:
    """A keystore entry for ``encryption_key``, certified by ``authentication``'s key.

    Alias: the decimal serial of the encryption certificate (the eHealth keystore
    layout); chain: the authentication certificate, then its own chain.
    """
    certificate = build_encryption_certificate(
        authentication.private_key, authentication.certificate, encryption_key
    )
    chain = (authentication.certificate, *authentication.chain)
    return KeyEntry(str(certificate.serial_number), encryption_key, certificate, chain)


def register_etk(
    client: PlatformClient, authentication: KeyEntry, encryption: KeyEntry
) -> PublishedEtk:
    """Prove possession of ``encryption``'s key and have the depot publish its ETK.

    Both requests are signed with ``authentication`` (the certificate the encryption
    certificate is bound to); the challenge is decrypted locally and only its plain
    value goes back.
    """
    signer = KeyEntryRequestSigner(authentication)
    challenge = client.etk_challenge(signer, encryption.certificate)
    answer = decrypt_challenge(encryption.private_key, challenge.encrypted)
    published = client.register_etk(signer, challenge.id, answer)
    if published.encryption_serial != str(encryption.certificate.serial_number):
        raise EhcertError(
            ErrorKind.UNTRUSTED,
            f"The platform published an ETK for encryption certificate "
            f"{published.encryption_serial}, not for {encryption.certificate.serial_number}.",
        )
    return published


def certified_by(encryption: x509.Certificate, authentication: x509.Certificate) -> bool:
    """Is ``encryption`` signed by ``authentication``'s key, under its subject?"""
    try:
        encryption.verify_directly_issued_by(authentication)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def current_encryption_entry(keystore: Keystore) -> KeyEntry:
    """The newest encryption key certified by the keystore's authentication certificate."""
    authentication = keystore.authentication()
    for entry in keystore.encryption_keys():  # newest first
        if certified_by(entry.certificate, authentication.certificate):
            return entry
    raise EhcertError(
        ErrorKind.NOT_FOUND,
        "The keystore holds no encryption key certified by its authentication certificate.",
        field="keystore",
    )


def register_keystore_etk(
    client: PlatformClient, keystore_path: Path, password: str
) -> PublishedEtk:
    """(Re-)register the ETK of a keystore's current encryption key."""
    if not keystore_path.is_file():
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"The keystore {keystore_path} does not exist.", field="keystore"
        )
    keystore = read_keystore_file(keystore_path, password)
    return register_etk(client, keystore.authentication(), current_encryption_entry(keystore))


def registration_failed(keystore_path: Path, error: EhcertError) -> EhcertError:
    """The keystore is written but the ETK is not published: say both, and the way out."""
    return EhcertError(
        error.kind,
        f"The keystore {keystore_path} was written, but its ETK was not published: "
        f"{error.detail.rstrip('.')}. Run 'ehcert etk register --keystore {keystore_path}' "
        "to try again.",
        field=error.field,
    )


@dataclass(frozen=True, slots=True)
class EtkView:
    """What ``ehcert etk get --json`` shows: whose ETK, valid when, which key.

    ``fingerprint`` is the SHA-256 of the encryption certificate's DER (as
    ``openssl x509 -fingerprint -sha256`` prints it for the extracted certificate);
    ``etk_sha256`` that of the whole ETK file.
    """

    identifier: str
    holder: str
    subject: str
    encryption_serial: str
    authentication_serial: str
    not_before: str
    not_after: str
    published_at: str
    fingerprint: str
    etk_sha256: str


def encryption_certificate_fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def etk_view(identifier: str, etk: PublishedEtk) -> EtkView:
    return EtkView(
        identifier=identifier,
        holder=etk.holder,
        subject=etk.subject,
        encryption_serial=etk.encryption_serial,
        authentication_serial=etk.authentication_serial,
        not_before=etk.not_before.isoformat(),
        not_after=etk.not_after.isoformat(),
        published_at=etk.published_at.isoformat(),
        fingerprint=etk.encryption_certificate_sha256,
        etk_sha256=etk.etk_sha256,
    )
