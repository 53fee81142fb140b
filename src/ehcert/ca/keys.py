"""Where the CA's private keys live: one small interface, two backends (files, PKCS#11).

The CA never handles key material; it asks a :class:`KeyBackend` for a
:class:`~ehcert.pki.signer.Signer` of one *role* (``root``, ``issuing``, ``ocsp``,
``sts``, ``etk-depot``, ``trust-list``, ``eid-root``, ``eid-ca``) and one
*generation*. A generation is the number of a key of that role: ``init`` makes
generation 0, and every re-key (the OCSP responder's renewal, ``ehcert admin ca
rotate``) makes the next one under a name of its own, so a new key never collides with
one a token or folder already holds:

- files: ``<role>.key`` for generation 0 (the name data directories have always used),
  ``<role>-<generation>.key`` after, encrypted PKCS#8 (:mod:`ehcert.pki.keyfile`);
- PKCS#11: label ``ehcert-<environment>-<role>`` for generation 0, then
  ``ehcert-<environment>-<role>-<generation>`` (sensitive, never extractable).

Which generation is current is recorded next to the certificates
(:class:`ehcert.ca.directory.CaDirectory`), not here.

A key's type is chosen when it is made: by default each role's RSA size
(:data:`KEY_SIZES`); ``ehcert admin init --key-type ec-p384`` makes EC keys instead
(:func:`role_key_type`), as eHealth's second-generation CA has. A new generation keeps
the type of the key it replaces (:func:`ehcert.ca.service_certificates.next_key_type`).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Protocol

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_TYPES, KeyType, check_platform_key_size
from ehcert.pki import pkcs11
from ehcert.pki.keyfile import load_encrypted_key, save_encrypted_key
from ehcert.pki.public_keys import generate_private_key
from ehcert.pki.signer import PrivateKeySigner, Signer

ROOT_ROLE = "root"
ISSUING_ROLE = "issuing"
OCSP_ROLE = "ocsp"
STS_ROLE = "sts"
ETK_DEPOT_ROLE = "etk-depot"
TRUST_LIST_ROLE = "trust-list"
EID_ROOT_ROLE = "eid-root"
EID_CA_ROLE = "eid-ca"

KEY_SIZES = {
    ROOT_ROLE: 4096,
    ISSUING_ROLE: 3072,
    OCSP_ROLE: 2048,
    ETK_DEPOT_ROLE: 2048,
    EID_ROOT_ROLE: 4096,
    EID_CA_ROLE: 3072,
    STS_ROLE: 2048,  # the security token service's signing key (ehcert.sts)
    TRUST_LIST_ROLE: 2048,  # signs the environment's trust list (ca.trust_list)
}
for _role, _bits in KEY_SIZES.items():  # each role's size within the one key policy
    check_platform_key_size(_bits, _role)
DOCUMENT_SIGNER_ROLES = (STS_ROLE, ETK_DEPOT_ROLE, TRUST_LIST_ROLE)
"""Roles whose key signs documents other parties read (SAML assertions, ETKs, the XAdES
trust list): they keep RSA 2048 whatever the CA keys are, as the eHealth services and
trust-list readers that read them expect RSA (rsa-sha256)."""


def role_key_type(role: str, hierarchy_type: KeyType | None) -> KeyType:
    """The key a new ``role`` key gets in a hierarchy made with ``hierarchy_type``
    (None: each role's RSA size; the document signers always their RSA size)."""
    if role not in KEY_SIZES:
        raise ValueError(f"unknown CA key role {role!r}")
    if hierarchy_type is None or role in DOCUMENT_SIGNER_ROLES:
        return KEY_TYPES[f"rsa-{KEY_SIZES[role]}"]
    return hierarchy_type


FIRST_GENERATION = 0
"""The generation ``init`` makes, named as data directories made before generations were."""


def key_name(role: str, generation: int) -> str:
    """``role`` for generation 0, ``role-<generation>`` after (see the module docstring)."""
    if role not in KEY_SIZES:
        raise ValueError(f"unknown CA key role {role!r}")
    if not isinstance(generation, int) or generation < FIRST_GENERATION:
        raise ValueError("generation must be an int of at least 0")
    return role if generation == FIRST_GENERATION else f"{role}-{generation}"


class KeyBackend(Protocol):
    """Makes and opens the CA keys of one environment, by role and generation."""

    def holds(self, role: str, generation: int) -> bool:
        """Does a key of ``role`` and ``generation`` exist already?"""
        ...

    def create(self, role: str, generation: int, key_type: KeyType | None = None) -> Signer:
        """Make a new key (``key_type``, or the role's RSA size); refuse (CONFLICT) when
        that name is taken."""
        ...

    def open(self, role: str, generation: int) -> Signer:
        """Open an existing key; NOT_FOUND when there is none."""
        ...


class FileKeyBackend:
    """Keys as encrypted PKCS#8 files in ``directory``, under one passphrase file.

    The passphrase is made (32 random bytes, 0600) on the first key; it lives outside
    the ``pki`` folder so a copy of that folder alone opens nothing.
    """

    def __init__(self, directory: Path, passphrase_file: Path) -> None:
        self.directory = directory
        self.passphrase_file = passphrase_file

    def path(self, role: str, generation: int) -> Path:
        return self.directory / f"{key_name(role, generation)}.key"

    def _passphrase(self, *, create: bool) -> bytes:
        if not self.passphrase_file.exists():
            if not create:
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"The CA key passphrase file {self.passphrase_file} is missing.",
                )
            self.passphrase_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            token = base64.urlsafe_b64encode(secrets.token_bytes(32))
            fd = os.open(self.passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(token + b"\n")
        return self.passphrase_file.read_bytes().strip()

    def holds(self, role: str, generation: int) -> bool:
        return self.path(role, generation).exists()

    def create(self, role: str, generation: int, key_type: KeyType | None = None) -> Signer:
        path = self.path(role, generation)
        if path.exists():
            raise EhcertError(
                ErrorKind.CONFLICT, f"The CA key file {path} exists already.", field="role"
            )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = generate_private_key(key_type or role_key_type(role, None))
        save_encrypted_key(path, key, self._passphrase(create=True))
        return PrivateKeySigner(key)

    def open(self, role: str, generation: int) -> Signer:
        path = self.path(role, generation)
        return PrivateKeySigner(load_encrypted_key(path, self._passphrase(create=False)))


class Pkcs11KeyBackend:
    """Keys on a PKCS#11 token, labelled per environment, role and generation."""

    def __init__(self, environment: str, module: str, token_label: str, pin: str) -> None:
        if not module or not token_label or not pin:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "PKCS#11 CA keys need a module, a token label and a PIN.",
                field="pkcs11_module",
            )
        self.environment = environment
        self.module = module
        self.token_label = token_label
        self._pin = pin

    def label(self, role: str, generation: int) -> str:
        return f"ehcert-{self.environment}-{key_name(role, generation)}"

    def holds(self, role: str, generation: int) -> bool:
        token = pkcs11.Pkcs11Token(self.module, self.token_label, self._pin)
        return token.holds_private_key(self.label(role, generation))

    def create(self, role: str, generation: int, key_type: KeyType | None = None) -> Signer:
        label = self.label(role, generation)
        pkcs11.generate_keypair_on_token(
            self.module, self.token_label, self._pin, label, key_type or role_key_type(role, None)
        )
        return pkcs11.Pkcs11Signer(self.module, self.token_label, label, self._pin)

    def open(self, role: str, generation: int) -> Signer:
        label = self.label(role, generation)
        return pkcs11.Pkcs11Signer(self.module, self.token_label, label, self._pin)
