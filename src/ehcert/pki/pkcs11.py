"""Keys in a PKCS#11 token (HSM, SoftHSM2, a smart card): signing, key set-up, certificates.

Multi-node deployments keep CA, OCSP and ETK-depot keys in an HSM (DESIGN.md); a care
provider's eID card is a PKCS#11 token too. This module is the one place that talks
PKCS#11 (OASIS PKCS#11 v2.40 / 3.0), through ``python-pkcs11``, and it turns every library
exception into an :class:`EhcertError` with one sentence a person can act on.

Three properties of PKCS#11 shape the code:

* **Login is per application and token, not per session** (PKCS#11 section 5.6,
  C_Login/C_Logout): logging in twice fails with CKR_USER_ALREADY_LOGGED_IN, and closing
  a logged-in session with ``python-pkcs11`` calls C_Logout, which logs out every other
  session too. So the process keeps exactly one logged-in read/write session per
  (module, token) and shares it; a caller presenting a different PIN than the one that
  opened it is refused rather than silently accepted.
* **Threads**: the library is initialised with C_Initialize(NULL), which promises the
  module that calls are not concurrent. Every call to a module therefore goes through
  one lock per module path.
* **Slots are enumerated at C_Initialize** by SoftHSM2 and many HSM modules: a token
  created afterwards stays invisible. When a token label is not found, the module is
  finalised and initialised once more (dropping the shared sessions, which are re-opened
  on next use) before giving up with NOT_FOUND. A forked child re-initialises too.

The shared sessions, the locks and the rescan live in :mod:`ehcert.pki.pkcs11_sessions`
(``close_sessions`` stays importable from here); this module holds the token operations.
Keys are RSA or EC (P-256, P-384); what is particular to EC (its attributes, CKM_ECDSA
over a digest computed here) is in :mod:`ehcert.pki.pkcs11_ec`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import (
    Attribute,
    CertificateType,
    KeyType,
    Mechanism,
    MechanismFlag,
    ObjectClass,
    TokenFlag,
)
from pkcs11 import exceptions as p11_errors

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_POLICY
from ehcert.core.keys import KeyType as PolicyKeyType
from ehcert.pki import pkcs11_ec
from ehcert.pki.pkcs11_sessions import run_on_module, run_on_token
from ehcert.pki.public_keys import PrivateKey, PublicKey, ecdsa_der

_T = TypeVar("_T")

SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

__all__ = [
    "SOFTHSM2_MODULE",
    "Pkcs11Signer",
    "Pkcs11Token",
    "PresentToken",
    "find_certificates",
    "generate_keypair_on_token",
    "generate_rsa_keypair_on_token",
    "import_private_key",
    "import_rsa_private_key",
    "init_softhsm_token",
    "present_tokens",
]


def _check_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str")
    if not value:
        raise ValueError(f"{field} must not be empty")
    return value


def _one_key(session: Any, object_class: ObjectClass, label: str) -> Any:
    try:
        return session.get_key(object_class=object_class, label=label)
    except p11_errors.MultipleObjectsReturned as exc:
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"More than one key on the token is labelled '{label}'.",
            field="key_label",
        ) from exc


def _private_key(session: Any, label: str) -> Any:
    try:
        return _one_key(session, ObjectClass.PRIVATE_KEY, label)
    except p11_errors.NoSuchKey as exc:
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"No private key labelled '{label}' on the token.",
            field="key_label",
        ) from exc


def _public_key(session: Any, label: str) -> PublicKey:
    """From the public key object; tokens holding only a private RSA key expose n and e
    too. An EC key must have its public object (CKA_EC_POINT)."""
    try:
        source = _one_key(session, ObjectClass.PUBLIC_KEY, label)
    except p11_errors.NoSuchKey:
        source = _private_key(session, label)
    key_type = source[Attribute.KEY_TYPE]
    if key_type == KeyType.EC:
        return pkcs11_ec.ec_public_key(source, label)
    if key_type != KeyType.RSA:
        raise EhcertError(
            ErrorKind.BAD_KEY,
            f"The key labelled '{label}' on the token is neither RSA nor EC.",
            field="key_label",
        )
    modulus = int.from_bytes(source[Attribute.MODULUS], "big")
    exponent = int.from_bytes(source[Attribute.PUBLIC_EXPONENT], "big")
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


def _certificates(session: Any) -> list[tuple[str, x509.Certificate]]:
    found: list[tuple[str, x509.Certificate]] = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
        if obj[Attribute.CERTIFICATE_TYPE] != CertificateType.X_509:
            continue
        found.append((obj[Attribute.LABEL], x509.load_der_x509_certificate(obj[Attribute.VALUE])))
    return found


def _refuse_existing_label(session: Any, label: str) -> None:
    template = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label}
    if list(session.get_objects(template)):
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"The token already holds a private key labelled '{label}'.",
            field="key_label",
        )


def _certificate_template(label: str, cert: x509.Certificate, key_id: bytes) -> dict[Any, Any]:
    """CKO_CERTIFICATE attributes, PKCS#11 section 4.6.3 (X.509 public key certificates)."""
    return {
        Attribute.CLASS: ObjectClass.CERTIFICATE,
        Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
        Attribute.TOKEN: True,
        Attribute.PRIVATE: False,
        Attribute.LABEL: label,
        Attribute.ID: key_id,
        Attribute.SUBJECT: cert.subject.public_bytes(),
        Attribute.ISSUER: cert.issuer.public_bytes(),
        Attribute.SERIAL_NUMBER: asn1_core.Integer(cert.serial_number).dump(),
        Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
    }


class Pkcs11Token:
    """One token reached with a user PIN; every call shares the process's logged-in session."""

    def __init__(self, module_path: str | Path, token_label: str, pin: str) -> None:
        self.module_path = str(Path(module_path))
        self.token_label = _check_text(token_label, "token_label")
        self._pin = _check_text(pin, "pin")

    def _run(self, operation: Callable[[Any], _T]) -> _T:
        return run_on_token(self.module_path, self.token_label, self._pin, operation)

    def sign(self, key_label: str, data: bytes, *, pss: bool = False) -> bytes:
        """RSASSA-PKCS1-v1_5 (CKM_SHA256_RSA_PKCS) or, with ``pss``, RSASSA-PSS with
        SHA-256, MGF1-SHA-256 and a 32-byte salt (CKM_SHA256_RSA_PKCS_PSS; RFC 8017 8.1).
        An EC key signs with CKM_ECDSA over SHA-256 (P-256) or SHA-384 (P-384) of
        ``data``, computed here, and the answer is ``r || s`` (the JWS form)."""
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes")

        def operation(session: Any) -> bytes:
            key = _private_key(session, key_label)
            if key[Attribute.KEY_TYPE] == KeyType.EC:
                public_key = _public_key(session, key_label)
                assert isinstance(public_key, ec.EllipticCurvePublicKey)
                return pkcs11_ec.ecdsa_sign(key, data, public_key)
            if pss:
                signature: bytes = key.sign(
                    data,
                    mechanism=Mechanism.SHA256_RSA_PKCS_PSS,
                    mechanism_param=(Mechanism.SHA256, pkcs11.MGF.SHA256, 32),
                )
            else:
                signature = key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
            return signature

        return self._run(operation)

    def public_key(self, key_label: str) -> PublicKey:
        """The public key labelled ``key_label`` (RSA or EC)."""
        return self._run(lambda session: _public_key(session, key_label))

    def rsa_public_key(self, key_label: str) -> rsa.RSAPublicKey:
        key = self.public_key(key_label)
        if not isinstance(key, rsa.RSAPublicKey):
            raise EhcertError(
                ErrorKind.BAD_KEY,
                f"The key labelled '{key_label}' on the token is not an RSA key.",
                field="key_label",
            )
        return key

    def holds_private_key(self, key_label: str) -> bool:
        """Is there a private key labelled ``key_label`` on the token (CKA_LABEL)?"""
        _check_text(key_label, "key_label")
        template = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: key_label}
        return self._run(lambda session: bool(list(session.get_objects(template))))

    def certificates(self) -> list[tuple[str, x509.Certificate]]:
        """Every X.509 certificate object on the token with its CKA_LABEL."""
        return self._run(_certificates)

    def generate_rsa_keypair(self, key_label: str, bits: int) -> rsa.RSAPublicKey:
        """A new sign-only key pair whose private half is sensitive and never extractable."""
        _check_text(key_label, "key_label")
        if not isinstance(bits, int) or bits < KEY_POLICY.rsa_minimum_bits:
            raise ValueError(f"bits must be an int of at least {KEY_POLICY.rsa_minimum_bits}")

        def operation(session: Any) -> rsa.RSAPublicKey:
            _refuse_existing_label(session, key_label)
            public, private = session.generate_keypair(
                KeyType.RSA,
                bits,
                label=key_label,
                store=True,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.PRIVATE: True,
                },
            )
            key = _public_key(session, key_label)
            assert isinstance(key, rsa.RSAPublicKey)
            key_id = x509.SubjectKeyIdentifier.from_public_key(key).digest
            public[Attribute.ID] = key_id
            private[Attribute.ID] = key_id
            return key

        return self._run(operation)

    def generate_keypair(self, key_label: str, key_type: PolicyKeyType) -> PublicKey:
        """A new sign-only key pair of ``key_type`` (RSA or EC on a named curve), private
        half sensitive and never extractable."""
        if key_type.curve is None:
            return self.generate_rsa_keypair(key_label, key_type.bits)
        _check_text(key_label, "key_label")
        curve = key_type.curve

        def operation(session: Any) -> PublicKey:
            _refuse_existing_label(session, key_label)
            public, private = pkcs11_ec.generate_ec_keypair(session, key_label, curve)
            key = _public_key(session, key_label)
            key_id = x509.SubjectKeyIdentifier.from_public_key(key).digest
            public[Attribute.ID] = key_id
            private[Attribute.ID] = key_id
            return key

        return self._run(operation)

    def import_private_key(
        self, key_label: str, key: PrivateKey, certificate: x509.Certificate | None
    ) -> None:
        """:meth:`import_rsa_private_key` for an RSA or EC key."""
        if isinstance(key, rsa.RSAPrivateKey):
            self.import_rsa_private_key(key_label, key, certificate)
            return
        _check_text(key_label, "key_label")
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("key must be an RSA or EC private key")
        if certificate is not None and certificate.public_key() != key.public_key():
            raise ValueError("certificate does not certify key")
        private_attributes, public_attributes = pkcs11_ec.ec_key_attributes(key)
        key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
        common = {Attribute.TOKEN: True, Attribute.LABEL: key_label, Attribute.ID: key_id}

        def operation(session: Any) -> None:
            _refuse_existing_label(session, key_label)
            session.create_object(
                {
                    **common,
                    **private_attributes,
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.DERIVE: False,
                }
            )
            session.create_object(
                {
                    **common,
                    **public_attributes,
                    Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                    Attribute.VERIFY: True,
                }
            )
            if certificate is not None:
                session.create_object(_certificate_template(key_label, certificate, key_id))

        self._run(operation)

    def import_rsa_private_key(
        self, key_label: str, key: rsa.RSAPrivateKey, certificate: x509.Certificate | None
    ) -> None:
        """Store ``key`` (sensitive, non-extractable), its public half and ``certificate``,
        all under ``key_label`` and one CKA_ID, as eID middleware presents them."""
        _check_text(key_label, "key_label")
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("key must be an RSA private key")
        if certificate is not None:
            if not isinstance(certificate, x509.Certificate):
                raise TypeError("certificate must be an x509.Certificate or None")
            if certificate.public_key() != key.public_key():
                raise ValueError("certificate does not certify key")
        numbers = key.private_numbers()
        public_numbers = numbers.public_numbers
        key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest

        def big(value: int) -> bytes:
            return value.to_bytes((value.bit_length() + 7) // 8, "big")

        common = {
            Attribute.KEY_TYPE: KeyType.RSA,
            Attribute.TOKEN: True,
            Attribute.LABEL: key_label,
            Attribute.ID: key_id,
            Attribute.MODULUS: big(public_numbers.n),
            Attribute.PUBLIC_EXPONENT: big(public_numbers.e),
        }

        def operation(session: Any) -> None:
            _refuse_existing_label(session, key_label)
            session.create_object(
                {
                    **common,
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.DECRYPT: False,
                    Attribute.PRIVATE_EXPONENT: big(numbers.d),
                    Attribute.PRIME_1: big(numbers.p),
                    Attribute.PRIME_2: big(numbers.q),
                    Attribute.EXPONENT_1: big(numbers.dmp1),
                    Attribute.EXPONENT_2: big(numbers.dmq1),
                    Attribute.COEFFICIENT: big(numbers.iqmp),
                }
            )
            session.create_object(
                {**common, Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.VERIFY: True}
            )
            if certificate is not None:
                session.create_object(_certificate_template(key_label, certificate, key_id))

        self._run(operation)

    def import_certificate(self, label: str, certificate: x509.Certificate) -> None:
        """Store a certificate without a key (an eID card's "CA" and "Root" objects)."""
        _check_text(label, "label")
        if not isinstance(certificate, x509.Certificate):
            raise TypeError("certificate must be an x509.Certificate")
        key_id = x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
        self._run(
            lambda session: session.create_object(_certificate_template(label, certificate, key_id))
        )


class Pkcs11Signer:
    """A :class:`~ehcert.pki.signer.Signer` over an RSA or EC key that never leaves its
    token; an EC signature is returned DER-encoded, as X.509 carries it."""

    def __init__(self, module_path: str | Path, token_label: str, key_label: str, pin: str) -> None:
        self._token = Pkcs11Token(module_path, token_label, pin)
        self.key_label = _check_text(key_label, "key_label")
        # Resolve now so a wrong PIN or a missing key fails at start-up, not mid-issuance.
        self._public_key = self._token.public_key(key_label)

    def public_key(self) -> PublicKey:
        return self._public_key

    def sign(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 8.2), or ECDSA with the
        curve's hash (``pki.signer``), on the token."""
        signature = self._token.sign(self.key_label, data)
        if isinstance(self._public_key, ec.EllipticCurvePublicKey):
            return ecdsa_der(signature)
        return signature


def generate_keypair_on_token(
    module: str | Path, token_label: str, pin: str, key_label: str, key_type: PolicyKeyType
) -> PublicKey:
    """Generate a sign-only key pair of ``key_type`` on the token; return its public key."""
    return Pkcs11Token(module, token_label, pin).generate_keypair(key_label, key_type)


def generate_rsa_keypair_on_token(
    module: str | Path, token_label: str, pin: str, key_label: str, bits: int
) -> rsa.RSAPublicKey:
    """Generate a sign-only RSA key pair on the token; return its public key."""
    return Pkcs11Token(module, token_label, pin).generate_rsa_keypair(key_label, bits)


def import_rsa_private_key(  # noqa: PLR0917 -- mirrors the token set-up tools' argument order
    module: str | Path,
    token_label: str,
    pin: str,
    key_label: str,
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate | None,
) -> None:
    """Put ``key`` (and its certificate, labelled alike) on the token."""
    Pkcs11Token(module, token_label, pin).import_rsa_private_key(key_label, key, certificate)


def import_private_key(  # noqa: PLR0917 -- as import_rsa_private_key
    module: str | Path,
    token_label: str,
    pin: str,
    key_label: str,
    key: PrivateKey,
    certificate: x509.Certificate | None,
) -> None:
    """Put an RSA or EC ``key`` (and its certificate, labelled alike) on the token."""
    Pkcs11Token(module, token_label, pin).import_private_key(key_label, key, certificate)


def find_certificates(
    module: str | Path, token_label: str, pin: str
) -> list[tuple[str, x509.Certificate]]:
    """Every X.509 certificate on the token as (CKA_LABEL, certificate)."""
    return Pkcs11Token(module, token_label, pin).certificates()


@dataclass(frozen=True)
class PresentToken:
    """A token in a slot (a card in a reader), as read without logging in."""

    slot_description: str
    token_label: str
    certificates: tuple[tuple[str, x509.Certificate], ...]


def present_tokens(module: str | Path) -> list[PresentToken]:
    """Every token present in the module's slots with its public certificates.

    Reading needs no PIN: certificates are public objects (CKA_PRIVATE false, PKCS#11
    section 4.4), which is how an eID card shows its holder before the PIN is asked.
    The public sessions opened here are closed again; closing a session that never
    logged in does not log out the process's other sessions.
    """
    module_path = str(Path(module))

    def operation(library: Any) -> list[PresentToken]:
        found: list[PresentToken] = []
        for slot in library.get_slots(token_present=True):
            try:
                token = slot.get_token()
            except (p11_errors.TokenNotPresent, p11_errors.TokenNotRecognised):
                continue  # removed while listing, or not a card the module reads
            if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                continue  # a blank token (SoftHSM2's free slot): nothing to read
            session = token.open()
            try:
                certificates = tuple(_certificates(session))
            finally:
                session.close()
            description = str(slot.slot_description).strip()
            found.append(PresentToken(description, str(token.label).strip(), certificates))
        return found

    return run_on_module(module_path, operation)


def _softhsm_util() -> str:
    tool = shutil.which("softhsm2-util")
    if tool is None:
        raise EhcertError(ErrorKind.UNAVAILABLE, "softhsm2-util is not installed.")
    return tool


def init_softhsm_token(label: str, so_pin: str, user_pin: str, conf_dir: Path | str) -> Path:
    """Create a SoftHSM2 token in ``conf_dir`` and return its ``softhsm2.conf`` path.

    The configuration (token directory ``conf_dir/tokens``) is written unless it exists.
    Point ``SOFTHSM2_CONF`` at the returned path before the module is first loaded in
    this process. PINs pass on softhsm2-util's command line, so this is for test and
    set-up tooling, not for a shared host.
    """
    for value, field in ((label, "label"), (so_pin, "so_pin"), (user_pin, "user_pin")):
        _check_text(value, field)
    if len(label.encode("utf-8")) > 32:
        raise ValueError("label must be at most 32 bytes (CK_TOKEN_INFO.label)")
    directory = Path(conf_dir).resolve()
    token_dir = directory / "tokens"
    token_dir.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    if not conf.exists():
        conf.write_text(
            f"directories.tokendir = {token_dir}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n",
            encoding="utf-8",
        )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    tool = _softhsm_util()
    shown = subprocess.run(
        [tool, "--show-slots"], env=env, capture_output=True, text=True, check=False
    )
    labels = [
        line.split(":", 1)[1].strip()
        for line in shown.stdout.splitlines()
        if line.strip().startswith("Label:")
    ]
    if label in labels:
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"A SoftHSM2 token labelled '{label}' already exists.",
            field="label",
        )
    created = subprocess.run(
        [tool, "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", user_pin],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        raise EhcertError(
            ErrorKind.UNAVAILABLE,
            f"softhsm2-util could not create token '{label}': {created.stderr.strip()}",
        )
    return conf
