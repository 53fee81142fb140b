"""The CA hierarchy of one environment: created once by ``init``, loaded at every start.

Per environment (acceptance and production never share anything, so an acceptance
certificate can never chain to a production anchor):

- a root CA (RSA 4096, 20 years), the trust anchor;
- an issuing CA (RSA 3072, 10 years) that signs care providers' certificates and CRLs;
- a delegated OCSP signer (RSA 2048, 90 days, id-pkix-ocsp-nocheck; RFC 6960 section
  4.2.2.2), re-issued automatically when fewer than 30 days remain;
- the ETK depot signer (RSA 2048, until the issuing CA expires; ``ca.etk_depot``), which
  signs the ETKs the depot publishes; created on open in data directories made before it
  existed;
- in acceptance only, a test eID root and citizen CA that mimic the Belgian eID
  hierarchy (Belgium Root CA -> Citizen CA), so integrators and tests get eID
  credentials (``ehcert admin eid issue``).

Certificates are PEM files under ``<data dir>/pki/<environment>/``. Private keys live
either there, encrypted at rest (PKCS#8, PBES2/AES-256, passphrase in a 0600 file
outside the ``pki`` folder), or in an HSM reached through PKCS#11 (label
``ehcert-<environment>-<role>``); either way the CA only ever sees a ``Signer``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ehcert.ca.etk_depot import ETK_DEPOT_ROLE, etk_depot_signer_builder
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import check_platform_key_size
from ehcert.pki import profiles
from ehcert.pki.keyfile import load_encrypted_key, save_encrypted_key
from ehcert.pki.lint import LintProfile
from ehcert.pki.signer import PrivateKeySigner, Signer
from ehcert.pki.signing import sign_certificate

ROOT_YEARS = 20
ISSUING_YEARS = 10
EID_CA_YEARS = 12
OCSP_SIGNER_DAYS = 90
OCSP_SIGNER_RENEW_BEFORE = dt.timedelta(days=30)
KEY_SIZES = {
    "root": 4096,
    "issuing": 3072,
    "ocsp": 2048,
    ETK_DEPOT_ROLE: 2048,
    "eid-root": 4096,
    "eid-ca": 3072,
    "sts": 2048,  # the security token service's signing key (ehcert.sts)
}


@dataclass(frozen=True, slots=True)
class PublicUrls:
    """Where relying parties fetch CRLs, OCSP answers and CA certificates (RFC 5280 4.2.1.13,
    4.2.2.1)."""

    base: str
    environment: str

    def _crl_url(self, suffix: str) -> str:
        """Where the API serves the CRL named ``<environment><suffix>``."""
        return f"{self.base}/crl/{self.environment}{suffix}.crl"

    @property
    def crl(self) -> str:
        return self._crl_url("")

    @property
    def root_crl(self) -> str:
        return self._crl_url("-root")

    @property
    def eid_crl(self) -> str:
        return self._crl_url("-eid")

    @property
    def eid_root_crl(self) -> str:
        return self._crl_url("-eid-root")

    @property
    def ocsp(self) -> str:
        return f"{self.base}/ocsp"

    def ca_issuers(self, role: str) -> str:
        return f"{self.base}/ca/{self.environment}-{role}.crt"


class KeyBackend:
    """Creates and opens the CA keys of one environment: encrypted files or PKCS#11."""

    def __init__(
        self,
        directory: Path,
        passphrase_file: Path,
        *,
        pkcs11_module: str | None = None,
        token_label: str | None = None,
        pin: str | None = None,
    ) -> None:
        self.directory = directory
        self.passphrase_file = passphrase_file
        self.pkcs11_module = pkcs11_module
        self.token_label = token_label
        self.pin = pin

    @property
    def uses_hsm(self) -> bool:
        return self.pkcs11_module is not None

    def _token(self) -> tuple[str, str, str]:
        if self.pkcs11_module is None or self.token_label is None or self.pin is None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "PKCS#11 CA keys need a module, a token label and a PIN.",
                field="pkcs11_module",
            )
        return self.pkcs11_module, self.token_label, self.pin

    def _label(self, role: str) -> str:
        return f"ehcert-{self.directory.name}-{role}"

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

    def create(self, role: str) -> Signer:
        bits = KEY_SIZES[role]
        check_platform_key_size(bits, role)
        if self.uses_hsm:
            from ehcert.pki import pkcs11

            module, label, pin = self._token()
            pkcs11.generate_rsa_keypair_on_token(module, label, pin, self._label(role), bits)
            return self.open(role)
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        save_encrypted_key(self.directory / f"{role}.key", key, self._passphrase(create=True))
        return PrivateKeySigner(key)

    def open(self, role: str) -> Signer:
        if self.uses_hsm:
            from ehcert.pki import pkcs11

            module, label, pin = self._token()
            return pkcs11.Pkcs11Signer(module, label, self._label(role), pin)
        key = load_encrypted_key(self.directory / f"{role}.key", self._passphrase(create=False))
        return PrivateKeySigner(key)


@dataclass(frozen=True)
class CaPair:
    """A CA certificate and the signer of its key."""

    certificate: x509.Certificate
    signer: Signer


@dataclass(frozen=True)
class Hierarchy:
    environment: str
    root: CaPair
    issuing: CaPair
    ocsp: CaPair
    etk_depot: CaPair
    eid_root: CaPair | None
    eid_ca: CaPair | None

    @property
    def chain(self) -> tuple[x509.Certificate, x509.Certificate]:
        """Issuing CA then root: what accompanies an issued certificate."""
        return (self.issuing.certificate, self.root.certificate)


def _ca_name(environment: str, role_title: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ehcert"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"ehcert {environment.capitalize()} {role_title}"
            ),
        ]
    )


def _years_later(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _write_pem(path: Path, certificate: x509.Certificate) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)


def _read_pem(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def hierarchy_directory(data_dir: Path, environment: str) -> Path:
    return data_dir / "pki" / environment


def is_initialised(data_dir: Path, environment: str) -> bool:
    return (hierarchy_directory(data_dir, environment) / "issuing.crt").exists()


BuildCertificate = Callable[[rsa.RSAPublicKey], x509.CertificateBuilder]


def _new_pair(
    backend: KeyBackend,
    role: str,
    build: BuildCertificate,
    issuer: CaPair | None,
    lint: LintProfile,
) -> CaPair:
    """Create ``role``'s key, then prepare, lint and sign its certificate.

    ``issuer=None`` means self-signed (a root). The one place a CA-side key and its
    certificate come into being, so every role follows "prepare, lint, sign once".
    """
    signer = backend.create(role)
    public_key = signer.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):  # pragma: no cover - RSA backends only
        raise EhcertError(ErrorKind.INTERNAL, f"The {role} key is not an RSA key.")
    certificate = sign_certificate(
        build(public_key), issuer.signer if issuer else signer, lint=lint
    )
    return CaPair(certificate, signer)


def create_hierarchy(
    backend: KeyBackend,
    environment: str,
    urls: PublicUrls,
    now: dt.datetime,
    *,
    progress: Callable[[str], None] | None = None,
) -> Hierarchy:
    """Create the root, issuing, OCSP, ETK depot and (acceptance) eID CAs; never overwrite."""
    directory = backend.directory
    if (directory / "root.crt").exists():
        raise EhcertError(
            ErrorKind.CONFLICT, f"The {environment} CA hierarchy already exists in {directory}."
        )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    say = progress or (lambda _message: None)
    start = now.astimezone(dt.UTC).replace(microsecond=0)

    say("Generating the root CA key")
    root = _new_pair(
        backend,
        "root",
        lambda key: profiles.root_ca_builder(
            _ca_name(environment, "Root CA"),
            key,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=_years_later(start, ROOT_YEARS),
        ),
        None,
        LintProfile.ROOT_CA,
    )

    say("Generating the issuing CA key")
    issuing = _new_pair(
        backend,
        "issuing",
        lambda key: profiles.issuing_ca_builder(
            _ca_name(environment, "Issuing CA"),
            key,
            root.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=_years_later(start, ISSUING_YEARS),
            crl_url=urls.root_crl,
            ca_issuers_url=urls.ca_issuers("root"),
        ),
        root,
        LintProfile.ISSUING_CA,
    )

    say("Generating the OCSP signer key")
    ocsp = _issue_ocsp_signer(backend, environment, issuing, start)
    say("Generating the ETK depot signer key")
    etk_depot = _issue_etk_depot_signer(backend, environment, issuing, urls, start)

    eid_root: CaPair | None = None
    eid_ca: CaPair | None = None
    if environment == "acceptance":
        say("Generating the test eID root and citizen CA keys")
        eid_root = _new_pair(
            backend,
            "eid-root",
            lambda key: profiles.root_ca_builder(
                _ca_name(environment, "Test eID Root CA"),
                key,
                serial=profiles.random_serial(),
                not_before=start,
                not_after=_years_later(start, ROOT_YEARS),
            ),
            None,
            LintProfile.ROOT_CA,
        )
        eid_root_cert = eid_root.certificate
        eid_ca = _new_pair(
            backend,
            "eid-ca",
            lambda key: profiles.eid_citizen_ca_builder(
                _ca_name(environment, "Test Citizen CA"),
                key,
                eid_root_cert,
                serial=profiles.random_serial(),
                not_before=start,
                not_after=_years_later(start, EID_CA_YEARS),
                crl_url=urls.eid_root_crl,
                ca_issuers_url=urls.ca_issuers("eid-root"),
            ),
            eid_root,
            LintProfile.ISSUING_CA,
        )
        _write_pem(directory / "eid-root.crt", eid_root.certificate)
        _write_pem(directory / "eid-ca.crt", eid_ca.certificate)

    _write_pem(directory / "root.crt", root.certificate)
    _write_pem(directory / "ocsp.crt", ocsp.certificate)
    _write_pem(directory / f"{ETK_DEPOT_ROLE}.crt", etk_depot.certificate)
    # Written last: its presence is what "initialised" means.
    _write_pem(directory / "issuing.crt", issuing.certificate)
    return Hierarchy(environment, root, issuing, ocsp, etk_depot, eid_root, eid_ca)


def _issue_ocsp_signer(
    backend: KeyBackend, environment: str, issuing: CaPair, start: dt.datetime
) -> CaPair:
    return _new_pair(
        backend,
        "ocsp",
        lambda key: profiles.ocsp_signer_builder(
            _ca_name(environment, "OCSP Responder"),
            key,
            issuing.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=start + dt.timedelta(days=OCSP_SIGNER_DAYS),
        ),
        issuing,
        LintProfile.OCSP_SIGNER,
    )


def _issue_etk_depot_signer(
    backend: KeyBackend, environment: str, issuing: CaPair, urls: PublicUrls, start: dt.datetime
) -> CaPair:
    """The depot signer, valid until the issuing CA expires (see ``ca.etk_depot``)."""
    return _new_pair(
        backend,
        ETK_DEPOT_ROLE,
        lambda key: etk_depot_signer_builder(
            _ca_name(environment, "ETK Depot"),
            key,
            issuing.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=issuing.certificate.not_valid_after_utc,
            crl_url=urls.crl,
            ca_issuers_url=urls.ca_issuers("issuing"),
        ),
        issuing,
        LintProfile.ETK_DEPOT,
    )


def load_hierarchy(
    backend: KeyBackend, environment: str, now: dt.datetime, urls: PublicUrls
) -> Hierarchy:
    """Open an initialised hierarchy; re-issue the OCSP signer when it nears expiry.

    A data directory made before the ETK depot existed has no depot signer: it gets one
    here, on first open, so existing installations keep loading.
    """
    directory = backend.directory
    if not (directory / "issuing.crt").exists():
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"No {environment} CA hierarchy in {directory}; run 'ehcert admin init' first.",
        )
    root = CaPair(_read_pem(directory / "root.crt"), backend.open("root"))
    issuing = CaPair(_read_pem(directory / "issuing.crt"), backend.open("issuing"))
    ocsp_cert = _read_pem(directory / "ocsp.crt")
    if ocsp_cert.not_valid_after_utc - now < OCSP_SIGNER_RENEW_BEFORE:
        ocsp = _issue_ocsp_signer(backend, environment, issuing, now.replace(microsecond=0))
        _write_pem(directory / "ocsp.crt", ocsp.certificate)
    else:
        ocsp = CaPair(ocsp_cert, backend.open("ocsp"))
    depot_path = directory / f"{ETK_DEPOT_ROLE}.crt"
    if depot_path.exists():
        etk_depot = CaPair(_read_pem(depot_path), backend.open(ETK_DEPOT_ROLE))
    else:
        start = now.astimezone(dt.UTC).replace(microsecond=0)
        etk_depot = _issue_etk_depot_signer(backend, environment, issuing, urls, start)
        _write_pem(depot_path, etk_depot.certificate)
    eid_root = eid_ca = None
    if (directory / "eid-ca.crt").exists():
        eid_root = CaPair(_read_pem(directory / "eid-root.crt"), backend.open("eid-root"))
        eid_ca = CaPair(_read_pem(directory / "eid-ca.crt"), backend.open("eid-ca"))
    return Hierarchy(environment, root, issuing, ocsp, etk_depot, eid_root, eid_ca)
