"""The STS's own signing key and certificate, made on first use.

The STS signs assertions with a key of its own, certified by the environment's issuing
CA (:func:`ehcert.pki.profiles.service_signer_builder`), so a relying party checks an
assertion against the same anchors as the holder's certificate, and an acceptance token
can never verify against production. The key is one more role of the CA key backend
(:class:`~ehcert.ca.hierarchy.KeyBackend`): an encrypted file next to the CA keys, or a
key on the HSM labelled ``ehcert-<environment>-sts``; either way the STS only ever sees a
:class:`~ehcert.pki.signer.Signer`. The certificate is ``sts.crt`` beside the CA
certificates in ``<data dir>/pki/<environment>/``.

Creation runs under an exclusive lock on ``sts.lock`` in that folder (``flock``), so two
API processes on one data directory that start together make one key, not two. The
certificate lives until the issuing CA expires, as the ETK depot signer's does; rolling
the key over earlier is left to an operator (delete ``sts.crt`` and the key).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ehcert.ca.hierarchy import CaPair, KeyBackend, PublicUrls
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import profiles
from ehcert.pki.lint import LintProfile
from ehcert.pki.signer import Signer
from ehcert.pki.signing import sign_certificate

STS_ROLE = "sts"
STS_CERTIFICATE_FILE = "sts.crt"
STS_LINT_PROFILE = LintProfile.ETK_DEPOT
"""The lint shape of a service signer: an end entity with digitalSignature only and a CRL
distribution point. The ETK depot signer has exactly that shape, so its profile serves."""


@dataclass(frozen=True)
class StsCredential:
    """The STS certificate and the signer of its key."""

    certificate: x509.Certificate
    signer: Signer


def sts_subject(environment: str) -> x509.Name:
    """``CN=ehcert <Environment> STS`` under the platform's CA name."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ehcert"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"ehcert {environment.capitalize()} STS"),
        ]
    )


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _write_pem(path: Path, certificate: x509.Certificate) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.replace(temporary, path)


def _checked(certificate: x509.Certificate, signer: Signer, path: Path) -> StsCredential:
    if certificate.public_key() != signer.public_key():
        raise EhcertError(
            ErrorKind.INTERNAL,
            f"The STS certificate {path} does not match the STS key; restore the pair or "
            "remove both so a new one is made.",
        )
    return StsCredential(certificate, signer)


def open_sts_credential(
    backend: KeyBackend,
    issuing: CaPair,
    urls: PublicUrls,
    environment: str,
    now: dt.datetime,
) -> StsCredential:
    """Open the STS key and certificate, making both the first time."""
    directory = backend.directory
    certificate_path = directory / STS_CERTIFICATE_FILE
    with _exclusive(directory / "sts.lock"):
        if certificate_path.exists():
            certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
            return _checked(certificate, backend.open(STS_ROLE), certificate_path)
        signer = backend.create(STS_ROLE)
        public_key = signer.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):  # pragma: no cover - RSA backends only
            raise EhcertError(ErrorKind.INTERNAL, "The STS key is not an RSA key.")
        start = now.astimezone(dt.UTC).replace(microsecond=0)
        builder = profiles.service_signer_builder(
            sts_subject(environment),
            public_key,
            issuing.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=issuing.certificate.not_valid_after_utc,
            crl_url=urls.crl,
            ca_issuers_url=urls.ca_issuers("issuing"),
        )
        certificate = sign_certificate(builder, issuing.signer, lint=STS_LINT_PROFILE)
        _write_pem(certificate_path, certificate)
        return _checked(certificate, signer, certificate_path)
