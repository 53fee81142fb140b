"""Which environment a certificate belongs to, and the one check every service makes.

One platform instance serves one environment, acceptance or production, and the two
share nothing: separate CA hierarchies, separate certificate policy OIDs. Production
must refuse what acceptance issued (a test certificate, a test eID, a token of the
acceptance STS) and acceptance what production issued, each with a sentence that says
"wrong environment", so an integrator who points software at the wrong URL learns why
at once instead of reading "untrusted".

A certificate is recognised by, in this order:

1. a policy OID of an environment in its certificate policies extension (RFC 5280
   section 4.2.1.4): every eHealth authentication certificate the CA signs carries its
   environment's (``Settings.policy_oid_<environment>``);
2. else the common name of its issuer or its subject, which for every certificate of a
   platform's own hierarchy (roots, issuing CAs, the test citizen CA, the OCSP responder,
   the STS and the ETK depot, and what they issue) begins with
   :func:`hierarchy_name_prefix` of its environment (:func:`hierarchy_common_name`,
   ``ca.credentials.ca_name``).

A certificate recognised as neither (a real eID card's, another tool's) is no business
of this check: path validation against the environment's anchors decides about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography import x509
from cryptography.x509.oid import NameOID

from ehcert.core.errors import EhcertError, ErrorKind

ENVIRONMENTS = ("acceptance", "production")


def hierarchy_name_prefix(environment: str) -> str:
    """``ehcert <Environment> ``: how the common name of each of its CA and service
    certificates begins (``CN=ehcert Acceptance Issuing CA``)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    return f"ehcert {environment.capitalize()} "


def hierarchy_common_name(environment: str, role_title: str) -> str:
    """The common name of a CA or service certificate of ``environment``'s hierarchy.

    Acceptance names say TEST (``ehcert Acceptance TEST Issuing CA``), so nobody mistakes
    a test certificate's chain for production's when reading it (a title that already
    begins "Test", the test citizen CA's, keeps its one word); the environment's prefix
    comes first, so hierarchies made before that word still read as acceptance.
    """
    says_test = role_title.casefold().startswith("test ")
    marker = "TEST " if environment == "acceptance" and not says_test else ""
    return f"{hierarchy_name_prefix(environment)}{marker}{role_title}"


def _common_names(name: x509.Name) -> list[str]:
    return [str(attribute.value) for attribute in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _policy_oids(certificate: x509.Certificate) -> set[str]:
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    except x509.ExtensionNotFound:
        return set()
    return {policy.policy_identifier.dotted_string for policy in policies.value}


@dataclass(frozen=True, slots=True)
class EnvironmentCheck:
    """This platform's environment and how each environment marks its certificates."""

    environment: str
    policy_oids: Mapping[str, str] = field(repr=False)

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
        if set(self.policy_oids) != set(ENVIRONMENTS):
            raise ValueError(f"policy_oids must name exactly {', '.join(ENVIRONMENTS)}")
        if len(set(self.policy_oids.values())) != len(ENVIRONMENTS):
            raise ValueError("policy_oids: each environment needs its own policy OID")
        for environment, oid in self.policy_oids.items():
            try:
                x509.ObjectIdentifier(oid)
            except ValueError:
                raise ValueError(
                    f"policy_oids[{environment!r}] must be a dotted OID, got {oid!r}"
                ) from None
        object.__setattr__(self, "policy_oids", MappingProxyType(dict(self.policy_oids)))

    def environment_of(self, certificate: x509.Certificate) -> str | None:
        """The environment ``certificate`` belongs to (module docstring), or None."""
        oids = _policy_oids(certificate)
        for environment, oid in self.policy_oids.items():
            if oid in oids:
                return environment
        names = _common_names(certificate.issuer) + _common_names(certificate.subject)
        for environment in ENVIRONMENTS:
            prefix = hierarchy_name_prefix(environment)
            if any(name.startswith(prefix) for name in names):
                return environment
        return None

    def is_other(self, certificate: x509.Certificate) -> bool:
        """Does ``certificate`` belong to the other environment?"""
        found = self.environment_of(certificate)
        return found is not None and found != self.environment

    def refuse_other(self, certificate: x509.Certificate, what: str = "Certificate") -> None:
        """Refuse ``certificate`` if another environment issued it: ``wrong-environment``.

        ``what`` names the certificate in the sentence ("Certificate", "The STS
        assertion's signer").
        """
        found = self.environment_of(certificate)
        if found is None or found == self.environment:
            return
        serial = format(certificate.serial_number, "x")
        raise EhcertError(
            ErrorKind.WRONG_ENVIRONMENT,
            f"{what} {serial} belongs to the {found} environment, but this platform is "
            f"the {self.environment} environment (wrong environment): use a certificate, "
            f"keystore and token of the {self.environment} environment, or send the "
            f"request to the {found} platform.",
        )
