"""Serving revocation status: CRLs (RFC 5280 section 5) and OCSP (RFC 6960).

Relying parties ask the platform about certificates it issued, and about the test eID
certificates its citizen CA issued, far more often than anyone revokes one. Both
answers are therefore signed once and kept: a CRL in memory until its revoked set
changes or half its validity has passed, an OCSP response in the store's cache for
half its validity unless the request carries a nonce (RFC 6960 section 4.4.1), which
asks for a fresh one. A cached OCSP answer is served only while it was produced by the
responder certificate now in use (renewed while running, ``ca.service_certificates``) and
not in the future (a start under a wrong clock must not leave answers from "tomorrow").
:class:`RevocationServer` holds that state; the composition root
(:mod:`ehcert.platform.root`) owns one and forwards ``crl`` and ``ocsp`` to it.

The roots' CRLs are the exception: their keys stay offline, so an operator's ceremony
signs them (``ca.ceremonies``) and this module serves the stored file as it is.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session

from ehcert.ca.authority import CertificateAuthority, OcspStatus, RevokedEntry
from ehcert.ca.credentials import CaPair
from ehcert.ca.hierarchy import Hierarchy
from ehcert.ca.keys import EID_ROOT_ROLE, ROOT_ROLE
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.ocsp_request import read_ocsp_request
from ehcert.store.certificates import CertificateReader
from ehcert.store.crl_numbers import CrlNumbers
from ehcert.store.db import Database
from ehcert.store.eid import EidRepository
from ehcert.store.ocsp_cache import OcspCache


@dataclass
class CachedCrl:
    """A signed CRL, the revoked set it was signed over, and when to re-sign regardless."""

    der: bytes
    fingerprint: tuple[int, str]
    refresh_after: dt.datetime


class RevocationServer:
    """CRLs and OCSP responses for one environment's CAs, signed on demand and kept."""

    def __init__(
        self,
        environment: str,
        hierarchy: Hierarchy,
        ca: CertificateAuthority,
        database: Database,
        now: Callable[[], dt.datetime],
    ) -> None:
        self._environment = environment
        self._hierarchy = hierarchy
        self._ca = ca
        self._database = database
        self._now = now
        self.crl_cache: dict[str, CachedCrl] = {}
        self._crl_lock = threading.Lock()

    # -- CRLs --------------------------------------------------------------------------

    def crl(self, name: str, *, force: bool = False) -> bytes:
        """The current CRL named ``<env>``, ``<env>-root``, ``<env>-eid``, ``<env>-eid-root``.

        A CRL is re-signed when its revoked set changes (so a revocation shows at once)
        or halfway through its validity, and otherwise served from memory.
        """
        env = self._environment
        if name in (f"{env}-root", f"{env}-eid-root"):
            return self._root_crl(name)
        issuers: dict[str, CaPair | None] = {
            env: self._hierarchy.issuing,
            f"{env}-eid": self._hierarchy.eid_ca,
        }
        issuer = issuers.get(name)
        if issuer is None:
            raise EhcertError(ErrorKind.NOT_FOUND, f"No CRL named {name}.")
        now = self._now()
        with self._crl_lock, self._database.session() as session:
            entries = self._revoked_entries(session, name)
            fingerprint = (
                len(entries),
                max((e.revoked_at.isoformat() for e in entries), default=""),
            )
            cached = self.crl_cache.get(name)
            if (
                cached
                and not force
                and cached.fingerprint == fingerprint
                and now < cached.refresh_after
            ):
                return cached.der
            number = CrlNumbers(session).next(env)
            crl = self._ca.sign_crl(issuer, entries, number, now)
            der = crl.public_bytes(serialization.Encoding.DER)
            self.crl_cache[name] = CachedCrl(der, fingerprint, now + self._ca.crl_validity / 2)
            return der

    def _root_crl(self, name: str) -> bytes:
        """The stored CRL of a root (signed by a ceremony; see the module docstring)."""
        env = self._environment
        if name == f"{env}-eid-root" and self._hierarchy.eid_root is None:
            raise EhcertError(ErrorKind.NOT_FOUND, f"No CRL named {name}.")
        role = ROOT_ROLE if name == f"{env}-root" else EID_ROOT_ROLE
        der = self._hierarchy.directory.read_crl(role)
        if der is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"The CRL {name} has not been signed yet; an operator signs it with "
                "'ehcert admin crl publish --root'.",
            )
        return der

    def _revoked_entries(self, session: Session, name: str) -> list[RevokedEntry]:
        env = self._environment
        if name == env:
            return [
                RevokedEntry(e.serial_hex, e.revoked_at, e.reason)
                for e in CertificateReader(session).revoked(env)
            ]
        return [  # the test citizen CA's
            RevokedEntry(c.serial_hex, c.revoked_at, c.revocation_reason or "unspecified")
            for c in EidRepository(session).revoked()
            if c.revoked_at is not None
        ]

    # -- OCSP (RFC 6960) ---------------------------------------------------------------

    def ocsp(self, request_der: bytes) -> bytes:
        """A DER OCSP response to a DER request; malformed or foreign requests get the
        unsuccessful statuses of RFC 6960 section 2.3."""
        try:
            query = read_ocsp_request(request_der)
        except EhcertError:
            return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        request = query.request
        if not self._ca.matches_issuer(request):
            return _ocsp_error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        serial_hex = format(query.serial_number, "x")
        has_nonce = query.nonce is not None
        now = self._now()
        with self._database.session() as session:
            cache = OcspCache(session)
            if not has_nonce:
                cached = cache.get(serial_hex, now)
                if (
                    cached is not None
                    and now < cached.produced_at + self._ca.ocsp_validity / 2
                    and self._by_current_responder(cached.der, now)
                ):
                    return cached.der
            record = CertificateReader(session).by_serial(serial_hex)
            certificate = x509.load_der_x509_certificate(record.der) if record else None
            status = OcspStatus(
                known=record is not None,
                revoked_at=record.revoked_at if record else None,
                reason=record.revocation_reason if record else None,
            )
            response = self._ca.ocsp_response(request, certificate, status, now)
            der = response.public_bytes(serialization.Encoding.DER)
            if record is not None and not has_nonce:
                cache.put(serial_hex, der, now, now + self._ca.ocsp_validity)
            return der

    def _by_current_responder(self, der: bytes, now: dt.datetime) -> bool:
        """Was ``der`` signed by the responder certificate in use at ``now``?

        That certificate is valid at ``now`` (``OcspResponder.current`` renews it when
        due), so an answer signed under an expired or not-yet-valid one is never served.
        """
        responder = self._hierarchy.ocsp.current(now).certificate
        try:
            embedded = ocsp.load_der_ocsp_response(der).certificates
        except ValueError:
            return False
        return len(embedded) == 1 and embedded[0] == responder


def _ocsp_error(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
