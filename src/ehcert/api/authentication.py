"""Who signed this request? Every signed request is authenticated here, at the edge.

A signed request is a JWS in the manner of ACME (RFC 8555 section 6.2; ``pki.jws``).
:class:`SignedRequests` checks, in this order:

1. the signature and the protected ``url``, which must be this platform's URL of the
   route posted to (:meth:`SignedRequests.verify`);
2. the ``nonce``: issued here, unexpired, and spent by this very request (RFC 8555
   section 6.5); a second use is ``bad-nonce``;
3. the ``x5c`` chain: a leaf of the other environment (acceptance against production,
   ``pki.environments``) is ``wrong-environment`` whatever else it is; then by the
   method its leaf calls for (:class:`Authenticators`): a certificate of this
   platform's issuing CA means ``certificate``, any other the ``eid`` method; each maps
   the chain to an :class:`~ehcert.core.identity.Identity`;
4. the payload, which must be a JSON object.

A service then receives the identity and decides what it may do. The authenticators
read what they need through single callables (a ledger lookup, the test citizen CA's
records, a nonce consumer), never through a store or the platform.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from fastapi import Request

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, Ssin
from ehcert.core.identity import Identity
from ehcert.core.names import parse_ehealth_subject
from ehcert.pki.environments import EnvironmentCheck
from ehcert.pki.jws import VerifiedJws, verify_jws
from ehcert.pki.pathval import KeyPurpose, validate_path
from ehcert.pki.revocation import RevocationStatus
from ehcert.ra.ports import CertificateFacts

RevocationCheck = Callable[[x509.Certificate, x509.Certificate], RevocationStatus]


# --- the eID method ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CitizenRecord:
    """What the test citizen CA's records say about one eID certificate it issued."""

    revoked_at: dt.datetime | None


class CitizenCaRevocation:
    """Revocation of eID certificates: the test citizen CA answers from its records.

    Certificates from other configured eID CAs would need their issuers' OCSP
    responders; without an answer the status is unknown, and unknown fails closed
    (``pki.pathval``).
    """

    def __init__(
        self,
        eid_root: x509.Certificate | None,
        eid_ca: x509.Certificate | None,
        records: Callable[[str], CitizenRecord | None],
    ) -> None:
        self._eid_root = eid_root
        self._eid_ca = eid_ca
        self._records = records

    def __call__(self, certificate: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        if self._eid_root is not None and issuer == self._eid_root:
            return RevocationStatus.good()  # the test eID root has revoked no CA
        if self._eid_ca is not None and issuer == self._eid_ca:
            record = self._records(format(certificate.serial_number, "x"))
            if record is None:
                return RevocationStatus.unknown("the test citizen CA has no record of it")
            if record.revoked_at is not None:
                return RevocationStatus.revoked(None, record.revoked_at)
            return RevocationStatus.good()
        return RevocationStatus.unknown(
            f"no revocation source is configured for {issuer.subject.rfc4514_string()}"
        )


class EidAuthenticator:
    """Verifies an eID chain against the configured eID CAs and reads the SSIN."""

    def __init__(
        self, anchors: Sequence[x509.Certificate], revocation: RevocationCheck | None
    ) -> None:
        self._anchors = list(anchors)
        self._revocation = revocation

    def authenticate(self, chain: Sequence[x509.Certificate], at: dt.datetime) -> Identity:
        if not chain:
            raise EhcertError(ErrorKind.UNAUTHORIZED, "The request carries no eID certificate.")
        leaf = chain[0]
        validate_path(
            leaf,
            list(chain[1:]),
            self._anchors,
            at=at,
            purpose=KeyPurpose.CLIENT_AUTHENTICATION,
            revocation=self._revocation,
            leaf_label="eID certificate",
        )
        serials = leaf.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        if len(serials) != 1:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                "The eID certificate has no SSIN in its subject serialNumber.",
            )
        try:
            ssin = Ssin(str(serials[0].value)).value
        except ValueError as error:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED, f"The eID certificate's serialNumber is no SSIN: {error}."
            ) from error
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        display = str(names[0].value).removesuffix(" (Authentication)") if names else ssin
        return Identity("eid", ssin, display)


# --- the certificate method ------------------------------------------------------------------


class CertificateAuthenticator:
    """Verifies that the signer holds a current certificate issued by this platform."""

    def __init__(
        self,
        issuing: x509.Certificate,
        root: x509.Certificate,
        issued: Callable[[str], CertificateFacts | None],
    ) -> None:
        self._issuing = issuing
        self._root = root
        self._issued = issued

    def issued_here(self, leaf: x509.Certificate) -> bool:
        return leaf.issuer == self._issuing.subject

    def authenticate(self, chain: Sequence[x509.Certificate], at: dt.datetime) -> Identity:
        leaf = chain[0]
        serial_hex = format(leaf.serial_number, "x")
        known = self._issued(serial_hex)
        if known is None or known.der != leaf.public_bytes(serialization.Encoding.DER):
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                f"Certificate {serial_hex} was not issued by this platform.",
            )
        if known.status == "revoked":
            raise EhcertError(
                ErrorKind.REVOKED,
                f"Certificate {serial_hex} is revoked and cannot authenticate requests.",
            )
        try:
            validate_path(
                leaf,
                [self._issuing],
                [self._root],
                at=at,
                purpose=KeyPurpose.CLIENT_AUTHENTICATION,
                revocation=None,
                leaf_label="eHealth certificate",
            )
        except EhcertError as refusal:
            if refusal.kind is not ErrorKind.CERTIFICATE_EXPIRED or at <= leaf.not_valid_after_utc:
                raise
            # Policy: after expiry there is no renewal, only a new request; say so, since
            # the holder's next step is the eID, not another try with this certificate.
            raise EhcertError(
                ErrorKind.CERTIFICATE_EXPIRED,
                f"Certificate {serial_hex} expired on {leaf.not_valid_after_utc:%Y-%m-%d}; "
                "an expired certificate can no longer renew or sign requests, make a new "
                "request with your eID.",
            ) from refusal
        parsed = parse_ehealth_subject(leaf.subject)
        holder = Holder(parsed.identifier_type, parsed.identifier_value, parsed.application_id)
        ssin = holder.value if holder.is_person else None
        return Identity(
            "certificate",
            ssin,
            parsed.display_name or str(holder),
            certificate_serial=serial_hex,
            holder=holder,
        )


class Authenticators:
    """Chooses the method from the chain: our own issuing CA means ``certificate``.

    A chain of the other environment is refused first, by the one environment check
    every service shares (``pki.environments``).
    """

    def __init__(
        self,
        eid: EidAuthenticator,
        certificate: CertificateAuthenticator,
        environments: EnvironmentCheck,
    ) -> None:
        self.eid = eid
        self.certificate = certificate
        self.environments = environments

    def authenticate(self, chain: Sequence[x509.Certificate], at: dt.datetime) -> Identity:
        if not chain:
            raise EhcertError(ErrorKind.UNAUTHORIZED, "The request carries no certificate.")
        self.environments.refuse_other(chain[0])
        if self.certificate.issued_here(chain[0]):
            return self.certificate.authenticate(chain, at)
        return self.eid.authenticate(chain, at)


# --- the signed request --------------------------------------------------------------------


class SignedRequests:
    """Authenticates a signed request (module docstring) into an identity and a payload."""

    def __init__(
        self,
        base_url: str,
        consume_nonce: Callable[[str], bool],
        authenticators: Authenticators,
        now: Callable[[], dt.datetime],
    ) -> None:
        self._base_url = base_url
        self._consume_nonce = consume_nonce
        self._authenticators = authenticators
        self._now = now

    def verify(self, body: bytes, path: str) -> VerifiedJws:
        """Step 1: the signature, over this platform's URL of ``path``."""
        return verify_jws(body, expected_url=self._base_url + path)

    def identify(self, verified: VerifiedJws) -> tuple[Identity, dict[str, Any]]:
        """Steps 2 to 4: spend the nonce, authenticate the chain, read the payload."""
        if not self._consume_nonce(verified.nonce):
            raise EhcertError(
                ErrorKind.BAD_NONCE,
                "The request's nonce is unknown, expired or already used; fetch a new one.",
            )
        identity = self._authenticators.authenticate(verified.chain, self._now())
        return identity, signed_payload(verified.payload)

    def authenticate(self, body: bytes, path: str) -> tuple[Identity, dict[str, Any]]:
        return self.identify(self.verify(body, path))

    async def __call__(self, request: Request) -> tuple[Identity, dict[str, Any]]:
        """The identity and payload of an HTTP request (the body is the JWS).

        The identity's actor is kept on the request, so a refusal of what follows (a
        wrong field) is audited under the name of who sent it (``api.problems``).
        """
        return self.read(request, await request.body())

    def read(self, request: Request, body: bytes) -> tuple[Identity, dict[str, Any]]:
        """:meth:`__call__` for a request whose body was read already: what a route that
        works in one transaction (``RaPorts.unit``) calls inside it, with no await."""
        identity, payload = self.identify(self.verify(body, request.url.path))
        request.state.actor = identity.actor
        return identity, payload


class _DuplicateMember(ValueError):
    pass


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise _DuplicateMember(name)
        members[name] = value
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def signed_payload(data: bytes) -> dict[str, Any]:
    """The signed payload as a JSON object (RFC 8259): UTF-8, each member named once.

    Nesting deeper than the parser's recursion limit (a payload 2,000 arrays deep) is
    refused like any other malformed JSON, as are NaN and Infinity, which are no JSON.
    """
    try:
        payload = json.loads(
            (data or b"{}").decode("utf-8"),
            object_pairs_hook=_unique_members,
            parse_constant=_no_constant,
        )
    except _DuplicateMember as duplicate:
        raise EhcertError(
            ErrorKind.MALFORMED, f"The signed payload names the member {duplicate} twice."
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EhcertError(ErrorKind.MALFORMED, "The signed payload is not JSON.") from None
    if not isinstance(payload, dict):
        raise EhcertError(ErrorKind.MALFORMED, "The signed payload must be a JSON object.")
    return payload
