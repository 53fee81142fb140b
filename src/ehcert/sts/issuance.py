"""Token issuance as the HTTP edge calls it: the signer checked, the token audited.

The edge (``api.sts``) authenticates a token request in three steps, so each refusal
says its own cause:

1. the JWS signature and URL (``api.authentication``): a bad signature;
2. the signer certificate's issuer (:meth:`TokenIssuance.check_signer`): a certificate
   of the other environment (``wrong-environment``), an eID, or a certificate of a CA
   that is not this platform's, refused before the nonce is spent;
3. the nonce and the certificate itself (``api.authentication``): a replayed nonce, a
   certificate not issued here, revoked or expired.

:meth:`TokenIssuance.issue` then reads the registry and signs the assertion in one unit
of work, whose audit trail records the token; a refusal met there is audited after that
transaction, in its own (the same rule as the RA's decisions, ``core.audit``). The unit
of work is a port (:class:`StsTransactions`): the STS names no table and no database.

The STS key and certificate are opened (made, on first use) lazily, once, so a platform
that never serves a token never makes an STS key.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identity import Identity
from ehcert.pki.environments import EnvironmentCheck
from ehcert.registry.facts import RegistryReader
from ehcert.sts.service import (
    IssuedToken,
    SecurityTokenService,
    check_issued_here,
    parse_token_request,
)

T = TypeVar("T")

ISSUED_ACTION = "sts-token"


class StsTransactions(Protocol):
    """One unit of work: the registry as it is now and the audit trail of one transaction."""

    def __call__(self, work: Callable[[RegistryReader, AuditSink], T]) -> T: ...


class TokenIssuance:
    """Issues SAML tokens to authenticated holders of this environment's certificates."""

    def __init__(
        self,
        open_service: Callable[[], SecurityTokenService],
        transactions: StsTransactions,
        *,
        issuing: x509.Certificate,
        eid_issuers: Sequence[x509.Certificate],
        environments: EnvironmentCheck,
        max_validity_hours: int,
    ) -> None:
        self._open_service = open_service
        self._transactions = transactions
        self._issuing = issuing
        self._eid_issuers = tuple(eid_issuers)
        self._environments = environments
        self._max_validity_hours = max_validity_hours
        self._lock = threading.Lock()
        self._service: SecurityTokenService | None = None

    def service(self) -> SecurityTokenService:
        """The STS, its key and certificate opened (or made) on first call."""
        with self._lock:
            if self._service is None:
                self._service = self._open_service()
            return self._service

    def certificate_pem(self) -> bytes:
        """The STS signing certificate, PEM: what relying parties verify tokens with."""
        return self.service().credential.certificate.public_bytes(serialization.Encoding.PEM)

    def check_signer(self, leaf: x509.Certificate) -> None:
        """Step 2 (module docstring): refuse a signer this environment did not certify.

        The STS is opened first, so a platform that cannot open its key says so before
        anything of the request is spent.
        """
        self.service()
        check_issued_here(leaf, self._issuing, self._eid_issuers, self._environments)

    def issue(
        self,
        identity: Identity,
        certificate: x509.Certificate,
        payload: Mapping[str, object],
        now: dt.datetime,
    ) -> IssuedToken:
        """The token ``payload`` asks for, for the holder of ``certificate``, audited."""
        holder = identity.holder
        if identity.method != "certificate" or holder is None:  # pragma: no cover - step 2
            raise EhcertError(
                ErrorKind.UNAUTHORIZED, "The STS needs a request signed with an eHealth key."
            )
        service = self.service()

        def work(registry: RegistryReader, audit: AuditSink) -> IssuedToken:
            try:
                request = parse_token_request(payload, self._max_validity_hours)
                issued = service.issue(certificate, holder, registry, request, now)
            except EhcertError as refusal:
                detail = refusal_detail(ISSUED_ACTION, refusal)
                audit.record(REFUSED, identity.actor, str(holder), detail, now)
                raise
            audit.record(
                ISSUED_ACTION,
                identity.actor,
                str(holder),
                {
                    "assertion_id": issued.assertion_id,
                    "not_on_or_after": issued.not_on_or_after.isoformat(),
                    "attributes": [a.designator.name for a in issued.attributes],
                },
                now,
            )
            return issued

        return self._transactions(work)
