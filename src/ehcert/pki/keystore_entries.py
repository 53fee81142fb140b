"""What an eHealth keystore holds: key entries and CA certificates.

These are the immutable values that reading a PKCS#12 keystore produces and writing one
consumes (:mod:`ehcert.pki.keystore`, which re-exports them). An alias names one entry;
``authentication`` is one alias in any case, since files in the field spell it
``authentication`` or ``Authentication``.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.pkcs12_pfx import public_key_der
from ehcert.pki.public_keys import PrivateKey

AUTHENTICATION_ALIAS = "authentication"

_PRIVATE_KEY_CLASSES = typing.get_args(PrivateKeyTypes)


def alias_identity(alias: str) -> str:
    """The alias as compared for uniqueness: ``authentication`` in any case is one alias."""
    return AUTHENTICATION_ALIAS if alias.lower() == AUTHENTICATION_ALIAS else alias


def _check_alias_and_chain(alias: object, chain: object) -> None:
    if not isinstance(alias, str):
        raise TypeError("alias must be a str")
    if not alias or not alias.isprintable():
        raise ValueError("alias must be a non-empty printable string")
    if not isinstance(chain, tuple) or not all(isinstance(c, x509.Certificate) for c in chain):
        raise TypeError("chain must be a tuple of x509.Certificate")


@dataclass(frozen=True)
class KeyEntry:
    """A private RSA or EC key with its certificate and the certificate's issuers.

    eHealth's first-generation keys are RSA; its second-generation certificates hold
    EC P-384 authentication and encryption keys (the key policy: ``core.keys``).

    ``chain`` holds the issuers of ``certificate`` (leaf excluded), nearest first.
    """

    alias: str
    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        _check_alias_and_chain(self.alias, self.chain)
        if not isinstance(self.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError("private_key must be an RSA or EC private key")
        if not isinstance(self.certificate, x509.Certificate):
            raise TypeError("certificate must be an x509.Certificate")
        if public_key_der(self.private_key.public_key()) != public_key_der(
            self.certificate.public_key()
        ):
            raise ValueError("private_key does not belong to certificate")


@dataclass(frozen=True)
class UnsupportedKeyEntry:
    """A key entry this package cannot use, kept so rewriting the file never loses a key.

    Either its key is outside the key policy (neither RSA nor EC, an EC curve other than
    P-256 and P-384, explicit curve parameters: ``problem`` says which) or no certificate
    in the file belongs to it; :attr:`reason` says which.
    """

    alias: str
    private_key: PrivateKeyTypes
    certificate: x509.Certificate | None
    chain: tuple[x509.Certificate, ...] = ()
    problem: str | None = None

    def __post_init__(self) -> None:
        _check_alias_and_chain(self.alias, self.chain)
        if not isinstance(self.private_key, _PRIVATE_KEY_CLASSES):
            raise TypeError("private_key must be a cryptography private key")
        if self.certificate is not None:
            if not isinstance(self.certificate, x509.Certificate):
                raise TypeError("certificate must be an x509.Certificate or None")
            if public_key_der(self.private_key.public_key()) != public_key_der(
                self.certificate.public_key()
            ):
                raise ValueError("private_key does not belong to certificate")

    @property
    def reason(self) -> str:
        if self.certificate is None:
            return "no certificate in the keystore belongs to its key"
        if self.problem:
            return self.problem[0].lower() + self.problem[1:].removesuffix(".")
        kind = type(self.private_key).__name__.removesuffix("PrivateKey").lstrip("_")
        return f"its key is {kind or 'of another type'}, but eHealth keys must be RSA or EC"


@dataclass(frozen=True)
class Keystore:
    """The content of an eHealth keystore; immutable, change it with :meth:`with_entry`.

    ``ca_certificates`` are the certificates that belong to no entry (neither as its
    certificate nor in its chain) plus any explicitly marked trusted; chain certificates
    live in their entries. ``unsupported_entries`` are written back unchanged.
    """

    entries: tuple[KeyEntry, ...]
    ca_certificates: tuple[x509.Certificate, ...] = ()
    unsupported_entries: tuple[UnsupportedKeyEntry, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.entries, tuple) or not all(
            isinstance(e, KeyEntry) for e in self.entries
        ):
            raise TypeError("entries must be a tuple of KeyEntry")
        if not isinstance(self.ca_certificates, tuple) or not all(
            isinstance(c, x509.Certificate) for c in self.ca_certificates
        ):
            raise TypeError("ca_certificates must be a tuple of x509.Certificate")
        if not isinstance(self.unsupported_entries, tuple) or not all(
            isinstance(e, UnsupportedKeyEntry) for e in self.unsupported_entries
        ):
            raise TypeError("unsupported_entries must be a tuple of UnsupportedKeyEntry")
        identities = [alias_identity(e.alias) for e in self.entries + self.unsupported_entries]
        if len(identities) != len(set(identities)):
            raise ValueError("aliases must be unique ('authentication' ignoring case)")

    def authentication(self) -> KeyEntry:
        """The ``authentication`` entry (any case); EhcertError(NOT_FOUND/BAD_KEY) if unusable."""
        for entry in self.entries:
            if alias_identity(entry.alias) == AUTHENTICATION_ALIAS:
                return entry
        for unusable in self.unsupported_entries:
            if alias_identity(unusable.alias) == AUTHENTICATION_ALIAS:
                raise EhcertError(
                    ErrorKind.BAD_KEY,
                    f"The keystore's authentication entry cannot be used: {unusable.reason}.",
                    field="keystore",
                )
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            "The keystore has no 'authentication' key entry.",
            field="keystore",
        )

    def encryption_keys(self) -> tuple[KeyEntry, ...]:
        """Entries whose alias is a decimal serial number, newest certificate first.

        Some older files name their encryption key ``encryption``; such an entry is in
        :attr:`entries` but not here, so a decrypter looking for the key of a given
        recipient certificate should search all entries.
        """
        found = [e for e in self.entries if e.alias.isascii() and e.alias.isdigit()]
        found.sort(
            key=lambda e: (e.certificate.not_valid_before_utc, e.certificate.serial_number),
            reverse=True,
        )
        return tuple(found)

    def with_entry(self, entry: KeyEntry) -> Keystore:
        """A copy with ``entry`` added, or replacing the entry with the same alias."""
        if not isinstance(entry, KeyEntry):
            raise TypeError("entry must be a KeyEntry")
        identity = alias_identity(entry.alias)
        replaced = False
        entries: list[KeyEntry] = []
        for existing in self.entries:
            if alias_identity(existing.alias) == identity:
                entries.append(entry)
                replaced = True
            else:
                entries.append(existing)
        if not replaced:
            entries.append(entry)
        unsupported = tuple(
            e for e in self.unsupported_entries if alias_identity(e.alias) != identity
        )
        return Keystore(tuple(entries), self.ca_certificates, unsupported)
