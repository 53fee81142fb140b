"""The values the CA hands out and the names it gives its own certificates.

A :class:`CaPair` is a certificate with the signer of its key: what the CA holds for
the keys it uses every day (issuing CA, test citizen CA, OCSP responder, ETK depot,
STS). A :class:`CaCertificate` is a certificate alone: the roots, whose keys stay
offline and are opened only by an operator's ceremony (:mod:`ehcert.ca.ceremonies`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from ehcert.pki.environments import hierarchy_common_name
from ehcert.pki.signer import Signer


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


@dataclass(frozen=True)
class CaPair:
    """A certificate and the signer of its key."""

    certificate: x509.Certificate
    signer: Signer


@dataclass(frozen=True)
class CaCertificate:
    """The certificate of a CA whose key stays offline (a root)."""

    certificate: x509.Certificate


def ca_name(environment: str, role_title: str) -> x509.Name:
    """``CN=ehcert <Environment> [TEST ]<role title>`` under the platform's CA name.

    The name is how a certificate of this hierarchy is told from the other
    environment's, and acceptance's say TEST (``pki.environments``)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ehcert"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
            x509.NameAttribute(NameOID.COMMON_NAME, hierarchy_common_name(environment, role_title)),
        ]
    )


def years_later(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def matches_key(certificate: x509.Certificate, signer: Signer) -> bool:
    """Does ``certificate`` certify the key behind ``signer``?"""
    return certificate.public_key() == signer.public_key()
