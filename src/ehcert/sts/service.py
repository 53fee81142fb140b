"""The security token service: who may have a token, with which attributes, for how long.

Modelled on eHealth's STS (``AttributeQuery``: a holder-of-key request in, a signed SAML
1.1 assertion out), with the request carried the way every signed request to this
platform is: a JWS over a fresh nonce and the exact URL (:mod:`ehcert.pki.jws`), signed
with the holder's eHealth authentication key. The HTTP edge authenticates the request
(:mod:`ehcert.api.sts`); this module decides:

- the signer certificate must be an eHealth certificate of *this* environment
  (:func:`check_issued_here`): a certificate of the other environment
  (``wrong-environment``, ``pki.environments``), an eID, or a certificate of another CA,
  is refused before anything else, with a sentence saying which it is;
- the holder must be in the registry now, and a care provider must not be withdrawn;
- the attributes are those the request names (:mod:`ehcert.sts.attributes`), valued from
  the registry only;
- the token lives ``sts_token_hours`` unless the request asks for less or more, never
  more than ``sts_max_token_hours``, and never beyond the holder's certificate or the STS
  certificate (a holder-of-key token is worthless once its key's certificate expires).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, InstitutionId
from ehcert.pki.environments import EnvironmentCheck
from ehcert.registry.facts import RegistryReader
from ehcert.sts.assertion import (
    ASSERTION_ID_ATTRIBUTE,
    AssertionContent,
    build_assertion,
    new_assertion_id,
)
from ehcert.sts.attributes import (
    CATALOGUE,
    MAX_DESIGNATORS,
    AttributeCatalogue,
    Designator,
    GrantedAttribute,
    HolderFacts,
)
from ehcert.sts.keys import StsCredential
from ehcert.sts.xmldsig import sign_enveloped

ASSERTION_MEDIA_TYPE = "application/samlassertion+xml"
"""RFC 6922 (the ``application/samlassertion+xml`` registration)."""


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What a holder asks for: attribute designators and, optionally, a validity."""

    designators: tuple[Designator, ...]
    validity: dt.timedelta | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed assertion and what it says, for the edge to answer and audit."""

    xml: bytes
    assertion_id: str
    holder: Holder
    issue_instant: dt.datetime
    not_on_or_after: dt.datetime
    attributes: tuple[GrantedAttribute, ...]


def _malformed(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field="attributes")


def _designator(item: object, catalogue: AttributeCatalogue) -> Designator:
    """A string names an attribute; an object gives ``name`` and ``namespace``."""
    if isinstance(item, str) and item:
        return catalogue.designator(item)
    if isinstance(item, Mapping):
        name, namespace = item.get("name"), item.get("namespace")
        if isinstance(name, str) and name and (namespace is None or isinstance(namespace, str)):
            return catalogue.designator(name, namespace or None)
    raise _malformed(
        "Each requested attribute must be a name, or an object with a name and a namespace."
    )


def parse_token_request(
    payload: Mapping[str, object],
    max_validity_hours: int,
    catalogue: AttributeCatalogue = CATALOGUE,
) -> TokenRequest:
    """Read ``{"attributes": [...], "validity_hours": n}`` (both optional) from a request."""
    unknown = sorted(set(payload) - {"attributes", "validity_hours"})
    if unknown:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"A token request has no field {unknown[0]}; it names attributes and a validity.",
            field=unknown[0],
        )
    raw = payload.get("attributes", [])
    if not isinstance(raw, list):
        raise _malformed("Field attributes must be a list of attribute designators.")
    if len(raw) > MAX_DESIGNATORS:
        raise _malformed(f"A token request may name at most {MAX_DESIGNATORS} attributes.")
    designators = tuple(dict.fromkeys(_designator(item, catalogue) for item in raw))
    hours = payload.get("validity_hours")
    if hours is None:
        return TokenRequest(designators)
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise EhcertError(
            ErrorKind.MALFORMED,
            "Field validity_hours must be a whole number of hours, at least 1.",
            field="validity_hours",
        )
    if hours > max_validity_hours:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"A token may be valid for at most {max_validity_hours} hours here; "
            f"{hours} were asked.",
            field="validity_hours",
        )
    return TokenRequest(designators, dt.timedelta(hours=hours))


def _looks_like_eid(leaf: x509.Certificate) -> bool:
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return any(str(name.value).endswith("(Authentication)") for name in names)


def check_issued_here(
    leaf: x509.Certificate,
    issuing: x509.Certificate,
    eid_issuers: Sequence[x509.Certificate],
    environments: EnvironmentCheck,
) -> None:
    """Refuse a signer certificate that this environment's issuing CA did not issue.

    Only a name check: whether the certificate is really ours, valid and not revoked is
    the certificate authenticator's job, which runs next.
    """
    environments.refuse_other(leaf)
    if leaf.issuer == issuing.subject:
        return
    environment = environments.environment
    serial = format(leaf.serial_number, "x")
    if _looks_like_eid(leaf) or any(leaf.issuer == ca.subject for ca in eid_issuers):
        raise EhcertError(
            ErrorKind.UNAUTHORIZED,
            f"Certificate {serial} is an eID certificate; the STS issues tokens only to "
            f"eHealth certificates of the {environment} environment, so sign with your "
            "eHealth keystore.",
        )
    raise EhcertError(
        ErrorKind.UNTRUSTED,
        f"Certificate {serial} was issued by {leaf.issuer.rfc4514_string()}, not by the "
        f"{environment} environment's issuing CA; this STS accepts only {environment} "
        "eHealth certificates.",
    )


class SecurityTokenService:
    """Issues signed SAML 1.1 holder-of-key assertions (see the module docstring)."""

    def __init__(
        self,
        credential: StsCredential,
        issuer: str,
        *,
        token_validity: dt.timedelta,
        max_token_validity: dt.timedelta,
        catalogue: AttributeCatalogue = CATALOGUE,
    ) -> None:
        if not isinstance(credential, StsCredential):
            raise TypeError("credential must be an StsCredential")
        if not issuer:
            raise ValueError("issuer must not be empty")
        if token_validity > max_token_validity:
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"The default STS token validity ({token_validity}) exceeds the maximum "
                f"({max_token_validity}); raise sts_max_token_hours or lower sts_token_hours.",
                field="sts_token_hours",
            )
        self.credential = credential
        self.issuer = issuer
        self.token_validity = token_validity
        self.max_token_validity = max_token_validity
        self.catalogue = catalogue

    def holder_facts(self, holder: Holder, registry: RegistryReader) -> HolderFacts:
        """The registry's facts about ``holder``, refusing unknown and withdrawn holders."""
        if holder.is_person:
            provider = registry.provider(holder.value)
            if provider is None:
                raise EhcertError(
                    ErrorKind.NOT_IN_REGISTRY,
                    f"The certificate holder SSIN {holder.value} is not in the registry of "
                    "care providers, so the STS issues no token.",
                )
            if provider.status == "withdrawn":
                raise EhcertError(
                    ErrorKind.WITHDRAWN,
                    f"Care provider SSIN {holder.value} is withdrawn from the registry, so "
                    "the STS issues no token.",
                )
            return HolderFacts(holder, provider=provider)
        institution = registry.institution(InstitutionId(holder.type, holder.value))
        if institution is None:
            raise EhcertError(
                ErrorKind.NOT_IN_REGISTRY,
                f"The certificate holder {holder.type}={holder.value} is not in the registry "
                "of institutions, so the STS issues no token.",
            )
        return HolderFacts(holder, institution=institution)

    def issue(
        self,
        holder_certificate: x509.Certificate,
        holder: Holder,
        registry: RegistryReader,
        request: TokenRequest,
        now: dt.datetime,
    ) -> IssuedToken:
        """Resolve the attributes, write and sign the assertion."""
        facts = self.holder_facts(holder, registry)
        requested = request.designators or self.catalogue.identification_of(holder)
        attributes = self.catalogue.resolve(requested, facts)
        validity = request.validity or self.token_validity
        validity = min(validity, self.max_token_validity)
        utc = now.astimezone(dt.UTC)
        issue_instant = utc.replace(microsecond=utc.microsecond // 1000 * 1000)  # SAML: ms
        not_on_or_after = min(
            issue_instant + validity,
            holder_certificate.not_valid_after_utc,
            self.credential.certificate.not_valid_after_utc,
        )
        content = AssertionContent(
            assertion_id=new_assertion_id(),
            issuer=self.issuer,
            issue_instant=issue_instant,
            not_before=issue_instant,
            not_on_or_after=not_on_or_after,
            holder_certificate=holder_certificate,
            attributes=attributes,
        )
        xml = sign_enveloped(
            etree.tostring(build_assertion(content)),
            id_attribute=ASSERTION_ID_ATTRIBUTE,
            signer=self.credential.signer,
            certificate=self.credential.certificate,
            inclusive_prefixes=("xs",),
        )
        return IssuedToken(
            xml=xml,
            assertion_id=content.assertion_id,
            holder=holder,
            issue_instant=issue_instant,
            not_on_or_after=not_on_or_after,
            attributes=attributes,
        )
