"""The PKCS#12 PFX container: plain bags in, a sealed file out, and back.

:func:`open_pfx` and :func:`seal_pfx` apply the password-based protection of
:mod:`ehcert.pki.pkcs12_pbe` to a whole PFX (RFC 7292 sections 4 and 5) and hand the
caller plain bags (DER plus friendlyName/localKeyId), so what the bags *mean* (aliases,
entries, the eHealth layout) lives in :mod:`ehcert.pki.keystore` with no ASN.1 in sight.

:func:`certificates_in` and :func:`chain_for` answer the question every reader of such a
file has next: which distinct certificates does it carry, and which of them issued which.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from asn1crypto import algos, cms, core, keys, pkcs12
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from ehcert.pki.pkcs12_pbe import (
    DecryptionFailedError,
    PasswordCipher,
    PbeError,
    WrongPasswordError,
    build_mac_data,
    mac_matches,
)

_MAX_NESTING = 4
# How asn1crypto reports undecodable input.
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)
_ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0"


@dataclass(frozen=True)
class PlainBag:
    """One key or certificate SafeBag with its protection removed (RFC 7292 section 4.2).

    ``der`` is a PKCS#8 PrivateKeyInfo or an X.509 certificate. ``trusted`` is the Java
    trusted-key-usage attribute (OID 2.16.840.1.113894.746875.1.1) that makes Java list a
    certificate as a trusted entry.
    """

    kind: Literal["key", "certificate"]
    der: bytes
    friendly_name: str | None = None
    local_key_id: bytes | None = None
    trusted: bool = False


def _decode_attributes(
    attributes: pkcs12.Attributes | core.Void,
) -> tuple[str | None, bytes | None, bool]:
    friendly_name: str | None = None
    local_key_id: bytes | None = None
    trusted = False
    if isinstance(attributes, core.Void):
        return friendly_name, local_key_id, trusted
    for attribute in attributes:
        kind = attribute["type"].native
        values = attribute["values"]
        if kind == "friendly_name" and len(values):
            friendly_name = values[0].native
        elif kind == "local_key_id" and len(values):
            local_key_id = values[0].native
        elif kind == "trusted_key_usage":
            trusted = True
    return friendly_name, local_key_id, trusted


@dataclass
class _Opener:
    cipher: PasswordCipher
    mac_verified: bool
    bags: list[PlainBag]

    def _refusal(self, what: str) -> Exception:
        """Without a MAC, a wrong password shows only as undecodable plaintext."""
        if self.mac_verified:
            return PbeError(f"{what} although the integrity check passed")
        return WrongPasswordError()

    def decrypt(self, algorithm: algos.EncryptionAlgorithm, ciphertext: object) -> bytes:
        if not isinstance(ciphertext, bytes):
            raise PbeError("an encrypted part has no content")
        try:
            return self.cipher.decrypt(algorithm, ciphertext)
        except DecryptionFailedError as error:
            raise self._refusal("a part does not decrypt") from error

    @contextmanager
    def decrypted_content(self) -> Iterator[None]:
        """Parse errors in just-decrypted data mean a wrong password when nothing else
        (no MAC) vouched for it; the padding check alone passes by chance 1 time in 256."""
        try:
            yield
        except _PARSE_ERRORS as error:
            raise self._refusal("a decrypted part is not valid") from error

    def collect(self, safe_contents: pkcs12.SafeContents, depth: int) -> None:
        """Keep key and X.509 certificate bags; CRL and secret bags are not used."""
        if depth > _MAX_NESTING:
            raise PbeError("SafeContents are nested too deeply")
        for bag in safe_contents:
            bag_type = bag["bag_id"].native
            value = bag["bag_value"]
            attributes = _decode_attributes(bag["bag_attributes"])
            if bag_type == "key_bag":
                self.bags.append(PlainBag("key", value.untag().dump(), *attributes))
            elif bag_type == "pkcs8_shrouded_key_bag":
                der = self.decrypt(value["encryption_algorithm"], value["encrypted_data"].native)
                with self.decrypted_content():
                    keys.PrivateKeyInfo.load(der, strict=True).native  # noqa: B018 parse all
                self.bags.append(PlainBag("key", der, *attributes))
            elif bag_type == "cert_bag" and value["cert_id"].native == "x509":
                self.bags.append(PlainBag("certificate", bytes(value["cert_value"]), *attributes))
            elif bag_type == "safe_contents":
                self.collect(value, depth + 1)


def _open(data: bytes, password: str) -> list[PlainBag]:
    pfx = pkcs12.Pfx.load(data, strict=True)
    if pfx["version"].native != "v3":
        raise PbeError("only PKCS#12 version 3 is supported")
    if pfx["auth_safe"]["content_type"].native != "data":
        raise PbeError("public-key integrity mode is not supported")
    authenticated_safe = pfx["auth_safe"]["content"].native
    try:
        cipher = PasswordCipher(password)
    except ValueError as error:
        raise WrongPasswordError from error
    mac_data = pfx["mac_data"]
    mac_verified = not isinstance(mac_data, core.Void)
    if mac_verified and not mac_matches(mac_data, password, authenticated_safe):
        raise WrongPasswordError
    opener = _Opener(cipher, mac_verified, [])
    for content_info in pkcs12.AuthenticatedSafe.load(authenticated_safe):
        content_type = content_info["content_type"].native
        if content_type == "data":
            opener.collect(pkcs12.SafeContents.load(content_info["content"].native), 0)
        elif content_type == "encrypted_data":
            info = content_info["content"]["encrypted_content_info"]
            raw = opener.decrypt(
                info["content_encryption_algorithm"], info["encrypted_content"].native
            )
            with opener.decrypted_content():
                opener.collect(pkcs12.SafeContents.load(raw, strict=True), 0)
        else:
            raise PbeError(f"public-key privacy mode ({content_type}) is not supported")
    return opener.bags


def open_pfx(data: bytes, password: str) -> list[PlainBag]:
    """Verify the MAC, decrypt, and return every key and certificate bag in file order.

    Raises WrongPasswordError, or PbeError when the data is not a usable PKCS#12 file
    (RFC 7292 sections 4 and 5; password privacy and integrity modes only).
    """
    try:
        return _open(data, password)
    except _PARSE_ERRORS as error:
        raise PbeError("it is damaged or not a PKCS#12 file") from error


def _encode_attributes(bag: PlainBag) -> pkcs12.Attributes | None:
    items: list[dict[str, object]] = []
    if bag.friendly_name is not None:
        items.append({"type": "friendly_name", "values": [bag.friendly_name]})
    if bag.local_key_id is not None:
        items.append({"type": "local_key_id", "values": [bag.local_key_id]})
    if bag.trusted:
        items.append({"type": "trusted_key_usage", "values": [_ANY_EXTENDED_KEY_USAGE]})
    return pkcs12.Attributes(items) if items else None


def seal_pfx(
    bags: Sequence[PlainBag], password: str, *, iterations: int, legacy: bool = False
) -> bytes:
    """Build a PFX: keys as PBES2/AES-256 shrouded key bags in a data SafeContents, the
    certificates in one PBES2/AES-256 encrypted SafeContents, HMAC-SHA256 MAC on top.

    One random PBKDF2 salt serves all bags of one file: every bag is under the same
    password, so distinct salts would not slow an attacker (one bag is enough to test a
    guess) but would multiply the cost of every honest load. Each bag has its own IV.

    ``legacy`` uses pbeWithSHAAnd3-KeyTripleDES-CBC for keys and certificates and an
    HMAC-SHA1 MAC instead (the layout is the same). There the IV is derived from the salt,
    so each encryption gets a fresh salt: a shared one would give every bag the same key
    AND IV.
    """
    cipher = PasswordCipher(password)
    salt = os.urandom(16)

    def encrypt(plaintext: bytes) -> tuple[algos.EncryptionAlgorithm, bytes]:
        if legacy:
            return cipher.encrypt_legacy_3des(plaintext, salt=os.urandom(16), iterations=iterations)
        return cipher.encrypt_pbes2_aes256(plaintext, salt=salt, iterations=iterations)

    key_bags: list[pkcs12.SafeBag] = []
    certificate_bags: list[pkcs12.SafeBag] = []
    for bag in bags:
        safe_bag: dict[str, object] = {}
        attributes = _encode_attributes(bag)
        if attributes is not None:
            safe_bag["bag_attributes"] = attributes
        if bag.kind == "key":
            algorithm, encrypted = encrypt(bag.der)
            safe_bag["bag_id"] = "pkcs8_shrouded_key_bag"
            safe_bag["bag_value"] = keys.EncryptedPrivateKeyInfo(
                {"encryption_algorithm": algorithm, "encrypted_data": encrypted}
            )
            key_bags.append(pkcs12.SafeBag(safe_bag))
        else:
            safe_bag["bag_id"] = "cert_bag"
            safe_bag["bag_value"] = pkcs12.CertBag(
                {"cert_id": "x509", "cert_value": core.ParsableOctetString(bag.der)}
            )
            certificate_bags.append(pkcs12.SafeBag(safe_bag))
    safes: list[cms.ContentInfo] = []
    if certificate_bags:
        algorithm, encrypted = encrypt(pkcs12.SafeContents(certificate_bags).dump())
        encrypted_content_info = {
            "content_type": "data",
            "content_encryption_algorithm": algorithm,
            "encrypted_content": encrypted,
        }
        encrypted_data = {"version": "v0", "encrypted_content_info": encrypted_content_info}
        safes.append(
            cms.ContentInfo(
                {"content_type": "encrypted_data", "content": cms.EncryptedData(encrypted_data)}
            )
        )
    if key_bags:
        key_contents = core.OctetString(pkcs12.SafeContents(key_bags).dump())
        safes.append(cms.ContentInfo({"content_type": "data", "content": key_contents}))
    authenticated_safe = pkcs12.AuthenticatedSafe(safes).dump()
    mac_data = build_mac_data(
        password,
        authenticated_safe,
        salt=os.urandom(16),
        iterations=iterations,
        hash_name="sha1" if legacy else "sha256",
    )
    auth_safe = {"content_type": "data", "content": core.OctetString(authenticated_safe)}
    pfx = pkcs12.Pfx({"version": "v3", "auth_safe": auth_safe, "mac_data": mac_data})
    return bytes(pfx.dump())


# ---------------------------------------------------------------------------- certificates

_MAX_CHAIN_LENGTH = 10


def public_key_der(public_key: object) -> bytes:
    """DER SubjectPublicKeyInfo: compares keys of any type."""
    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass
class CertificateInFile:
    """One distinct certificate, with what all the bags that carried it said about it."""

    certificate: x509.Certificate
    der: bytes
    spki: bytes | None  # None: a key type cryptography cannot load (it matches no key)
    local_key_ids: set[bytes]
    friendly_name: str | None
    trusted: bool


def certificates_in(bags: list[PlainBag]) -> list[CertificateInFile]:
    """Distinct certificates in file order; files in the field repeat the same one."""
    found: dict[bytes, CertificateInFile] = {}
    for bag in bags:
        if bag.kind != "certificate":
            continue
        known = found.get(bag.der)
        if known is None:
            try:
                certificate = x509.load_der_x509_certificate(bag.der)
            except x509.InvalidVersion as error:  # not a ValueError in cryptography
                raise ValueError(f"unsupported certificate version: {error}") from error
            try:
                spki: bytes | None = public_key_der(certificate.public_key())
            except (ValueError, UnsupportedAlgorithm):
                spki = None
            known = CertificateInFile(
                certificate, bag.der, spki, set(), bag.friendly_name, trusted=False
            )
            found[bag.der] = known
        if bag.local_key_id is not None:
            known.local_key_ids.add(bag.local_key_id)
        known.trusted = known.trusted or bag.trusted
        known.friendly_name = known.friendly_name or bag.friendly_name
    return list(found.values())


def _signature_verifies(certificate: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Whether ``issuer``'s key signed ``certificate``; None when that cannot be checked.

    Done by hand rather than with ``verify_directly_issued_by`` because that refuses
    SHA-1, and the certificates in eHealth keystores of the field are SHA-1 signed. This
    only picks the issuer among the file's certificates; trust is decided elsewhere.
    """
    signature, signed = certificate.signature, certificate.tbs_certificate_bytes
    try:
        key = issuer.public_key()
        hash_algorithm = certificate.signature_hash_algorithm
        parameters = certificate.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey) and hash_algorithm is not None:
            key.verify(signature, signed, parameters, hash_algorithm)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, parameters)  # type: ignore[arg-type]
        elif isinstance(key, dsa.DSAPublicKey) and hash_algorithm is not None:
            key.verify(signature, signed, hash_algorithm)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, signed)
        else:
            return None
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return True


def _issuer_of(
    certificate: x509.Certificate, pool: list[CertificateInFile], excluded: set[bytes]
) -> CertificateInFile | None:
    """The issuer in ``pool``: signature verified, else unverifiable, else name only."""
    best: tuple[int, CertificateInFile] | None = None
    for candidate in pool:
        if candidate.der in excluded or candidate.certificate.subject != certificate.issuer:
            continue
        verdict = _signature_verifies(certificate, candidate.certificate)
        if verdict:
            return candidate
        rank = 1 if verdict is None else 2
        if best is None or rank < best[0]:
            best = (rank, candidate)
    return None if best is None else best[1]


def _is_self_signed(certificate: x509.Certificate) -> bool:
    """A root. Not just subject == issuer: an eHealth encryption certificate carries the
    same DN as the authentication certificate whose key signed it."""
    return certificate.issuer == certificate.subject and bool(
        _signature_verifies(certificate, certificate)
    )


def chain_for(leaf: CertificateInFile, pool: list[CertificateInFile]) -> list[CertificateInFile]:
    chain: list[CertificateInFile] = []
    current = leaf
    seen = {leaf.der}
    while not _is_self_signed(current.certificate) and len(chain) < _MAX_CHAIN_LENGTH:
        issuer = _issuer_of(current.certificate, pool, seen)
        if issuer is None:
            break
        chain.append(issuer)
        seen.add(issuer.der)
        current = issuer
    return chain
