"""The operator's ceremonies: the only code that opens a root key.

A root key signs rarely and is worth the most, so the running platform never holds it
(``serve`` opens only the online keys; :func:`ehcert.ca.hierarchy.load_hierarchy`).
It is used by explicit commands only:

- ``ehcert admin init`` (:func:`create_hierarchy`): makes every key and certificate of an
  environment and signs the first root CRLs;
- ``ehcert admin crl publish --root`` (:func:`publish_root_crls`): re-signs the root CRL
  (and, in acceptance, the test eID root's) before it expires;
- ``ehcert admin ca rotate ROLE`` (:func:`rotate`): re-keys one role under a new key
  generation; the issuing CA needs the root key, the service roles the issuing key.

Root CRLs are long-lived (:data:`ROOT_CRL_VALIDITY`, a year: a root revokes almost
never, and the ceremony must be repeated before ``nextUpdate``) and stored as files in the
CA folder, which ``serve`` serves as they are. Their CRL numbers continue from the file
they replace (RFC 5280 section 5.2.3: monotonically increasing per issuer), so the
ceremony needs no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ehcert.ca.authority import sign_ca_crl
from ehcert.ca.credentials import (
    CaCertificate,
    CaPair,
    PublicUrls,
    ca_name,
    years_later,
)
from ehcert.ca.directory import CaDirectory
from ehcert.ca.hierarchy import Hierarchy, open_ca_pair
from ehcert.ca.keys import (
    EID_CA_ROLE,
    EID_ROOT_ROLE,
    ETK_DEPOT_ROLE,
    FIRST_GENERATION,
    ISSUING_ROLE,
    OCSP_ROLE,
    ROOT_ROLE,
    TRUST_LIST_ROLE,
    KeyBackend,
    role_key_type,
)
from ehcert.ca.service_certificates import (
    SERVICE_ROLES,
    OcspResponder,
    ServiceCertificates,
    current_service_certificate,
    next_generation,
)
from ehcert.ca.trust_list import TrustListPublisher
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KeyType, key_type_of
from ehcert.pki import eid_profiles, profiles
from ehcert.pki.lint import LintProfile
from ehcert.pki.public_keys import PublicKey, key_facts
from ehcert.pki.signing import sign_certificate

ROOT_YEARS = 20
ISSUING_YEARS = 10
EID_CA_YEARS = 12
ROOT_CRL_VALIDITY = dt.timedelta(days=365)
ROTATABLE_ROLES = (ISSUING_ROLE, *SERVICE_ROLES)

BuildCertificate = Callable[[PublicKey], x509.CertificateBuilder]
Progress = Callable[[str], None]


def _new_ca(
    backend: KeyBackend,
    role: str,
    generation: int,
    build: BuildCertificate,
    *,
    issuer: CaPair | None,
    lint: LintProfile,
    key_type: KeyType | None,
) -> CaPair:
    """Make ``role``'s key, then prepare, lint and sign its certificate once.

    ``issuer=None`` means self-signed (a root); ``key_type`` None is the role's RSA size.
    """
    signer = backend.create(role, generation, role_key_type(role, key_type))
    public_key = signer.public_key()
    certificate = sign_certificate(
        build(public_key), issuer.signer if issuer else signer, lint=lint
    )
    return CaPair(certificate, signer)


def _root(  # noqa: PLR0917 -- the ceremony's facts, each named
    backend: KeyBackend,
    role: str,
    title: str,
    environment: str,
    start: dt.datetime,
    key_type: KeyType | None,
) -> CaPair:
    return _new_ca(
        backend,
        role,
        FIRST_GENERATION,
        lambda key: profiles.root_ca_builder(
            ca_name(environment, title),
            key,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=years_later(start, ROOT_YEARS),
        ),
        issuer=None,
        lint=LintProfile.ROOT_CA,
        key_type=key_type,
    )


def _issuing(
    backend: KeyBackend,
    generation: int,
    root: CaPair,
    urls: PublicUrls,
    *,
    environment: str,
    start: dt.datetime,
    key_type: KeyType | None,
) -> CaPair:
    end = min(years_later(start, ISSUING_YEARS), root.certificate.not_valid_after_utc)
    return _new_ca(
        backend,
        ISSUING_ROLE,
        generation,
        lambda key: profiles.issuing_ca_builder(
            ca_name(environment, "Issuing CA"),
            key,
            root.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=end,
            crl_url=urls.root_crl,
            ca_issuers_url=urls.ca_issuers("root"),
        ),
        issuer=root,
        lint=LintProfile.ISSUING_CA,
        key_type=key_type,
    )


def create_hierarchy(
    directory: CaDirectory,
    backend: KeyBackend,
    environment: str,
    urls: PublicUrls,
    now: dt.datetime,
    *,
    progress: Progress | None = None,
    key_type: KeyType | None = None,
) -> Hierarchy:
    """Create the root, issuing, OCSP, ETK depot and (acceptance) eID CAs; never overwrite.

    ``key_type`` (``admin init --key-type``) is the key of the root, issuing and eID CAs
    (and, when EC, of the OCSP responder: ``ServiceCertificates.key_type``); None keeps
    each role's RSA size. The document signers (STS, ETK depot) stay RSA 2048
    (:data:`ehcert.ca.keys.DOCUMENT_SIGNER_ROLES`).

    Returns the hierarchy as ``serve`` would open it: the root signers are dropped here.
    """
    if directory.certificate_path(ROOT_ROLE).exists():
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"The {environment} CA hierarchy already exists in {directory.path}.",
        )
    directory.path.mkdir(parents=True, exist_ok=True, mode=0o700)
    say = progress or (lambda _message: None)
    start = now.astimezone(dt.UTC).replace(microsecond=0)
    with directory.locked(exclusive=True):
        say("Generating the root CA key")
        root = _root(backend, ROOT_ROLE, "Root CA", environment, start, key_type)
        say("Generating the issuing CA key")
        issuing = _issuing(
            backend,
            FIRST_GENERATION,
            root,
            urls,
            environment=environment,
            start=start,
            key_type=key_type,
        )
        eid_root: CaPair | None = None
        eid_ca: CaPair | None = None
        if environment == "acceptance":
            say("Generating the test eID root and citizen CA keys")
            eid_root = _root(
                backend, EID_ROOT_ROLE, "Test eID Root CA", environment, start, key_type
            )
            eid_ca = _new_eid_ca(backend, eid_root, environment, urls, start, key_type)
            directory.record(EID_ROOT_ROLE, FIRST_GENERATION, eid_root.certificate)
            directory.record(EID_CA_ROLE, FIRST_GENERATION, eid_ca.certificate)
        directory.record(ROOT_ROLE, FIRST_GENERATION, root.certificate)
        services = ServiceCertificates(directory, backend, issuing, urls, environment)
        say("Generating the OCSP signer key")
        ocsp = services.issue(OCSP_ROLE, start)
        say("Generating the ETK depot signer key")
        etk_depot = services.issue(ETK_DEPOT_ROLE, start)
        say("Generating the trust-list signer key")
        services.issue(TRUST_LIST_ROLE, start)
        say("Signing the root CRLs")
        _sign_root_crls(directory, [(ROOT_ROLE, root), (EID_ROOT_ROLE, eid_root)], start)
        # Written last: its presence is what "initialised" means.
        directory.record(ISSUING_ROLE, FIRST_GENERATION, issuing.certificate)
        say("Signing the first trust list")
        TrustListPublisher(directory, backend, environment, urls.base).publish(start)
    return Hierarchy(
        environment,
        CaCertificate(root.certificate),
        issuing,
        OcspResponder(services, ocsp),
        etk_depot,
        CaCertificate(eid_root.certificate) if eid_root else None,
        eid_ca,
        services,
    )


def _new_eid_ca(  # noqa: PLR0917 -- the ceremony's facts, each named
    backend: KeyBackend,
    eid_root: CaPair,
    environment: str,
    urls: PublicUrls,
    start: dt.datetime,
    key_type: KeyType | None,
) -> CaPair:
    return _new_ca(
        backend,
        EID_CA_ROLE,
        FIRST_GENERATION,
        lambda key: eid_profiles.eid_citizen_ca_builder(
            ca_name(environment, "Test Citizen CA"),
            key,
            eid_root.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=years_later(start, EID_CA_YEARS),
            crl_url=urls.eid_root_crl,
            ca_issuers_url=urls.ca_issuers("eid-root"),
        ),
        issuer=eid_root,
        lint=LintProfile.ISSUING_CA,
        key_type=key_type,
    )


# -- root CRLs ------------------------------------------------------------------------


def _next_crl_number(directory: CaDirectory, role: str) -> int:
    previous = directory.read_crl(role)
    if previous is None:
        return 1
    number = x509.load_der_x509_crl(previous).extensions.get_extension_for_class(x509.CRLNumber)
    return number.value.crl_number + 1


def _sign_root_crls(
    directory: CaDirectory, roots: list[tuple[str, CaPair | None]], now: dt.datetime
) -> list[str]:
    written = []
    for role, root in roots:
        if root is None:
            continue
        number = _next_crl_number(directory, role)
        crl = sign_ca_crl(root, [], number, now, ROOT_CRL_VALIDITY)  # no CA revoked
        directory.write_crl(role, crl.public_bytes(serialization.Encoding.DER))
        written.append(role)
    return written


def publish_root_crls(directory: CaDirectory, backend: KeyBackend, now: dt.datetime) -> list[str]:
    """Re-sign the root CRL (and the test eID root's, where there is one) with the root
    keys; returns the roles whose CRL file was written."""
    with directory.locked(exclusive=True):
        roots: list[tuple[str, CaPair | None]] = [
            (ROOT_ROLE, open_ca_pair(directory, backend, ROOT_ROLE))
        ]
        if directory.has_certificate(EID_ROOT_ROLE):
            roots.append((EID_ROOT_ROLE, open_ca_pair(directory, backend, EID_ROOT_ROLE)))
        return _sign_root_crls(directory, roots, now)


# -- rotation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rotated:
    """What a rotation made: each role re-keyed, with its new generation and certificate."""

    role: str
    generation: int
    certificate: x509.Certificate


def rotate(
    directory: CaDirectory,
    backend: KeyBackend,
    role: str,
    urls: PublicUrls,
    *,
    environment: str,
    now: dt.datetime,
) -> list[Rotated]:
    """Re-key ``role``: a new key under the next generation's name and a new certificate.

    Rotating the issuing CA opens the root key, and re-issues the service certificates
    under the new issuing CA (a delegated OCSP responder must be certified by the CA whose
    certificates it answers for, RFC 6960 section 4.2.2.2). Rotating a service role opens
    the issuing key. Running API processes pick up a new OCSP responder by themselves;
    restart them after any other rotation.

    The rotation ends with a new trust list (:mod:`ehcert.ca.trust_list`). When the
    trust-list signer was re-keyed, that list is signed by the previous signer and names
    the new one: clients that trusted the previous list follow it without a manual step.
    """
    if role not in ROTATABLE_ROLES:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"{role!r} cannot be rotated; use one of {', '.join(ROTATABLE_ROLES)}.",
            field="role",
        )
    start = now.astimezone(dt.UTC).replace(microsecond=0)
    made: list[Rotated] = []
    with directory.locked(exclusive=True):
        if role == ISSUING_ROLE:
            root = open_ca_pair(directory, backend, ROOT_ROLE)
            generation = next_generation(directory, backend, ISSUING_ROLE)
            current_issuing = open_ca_pair(directory, backend, ISSUING_ROLE).signer.public_key()
            issuing = _issuing(
                backend,
                generation,
                root,
                urls,
                environment=environment,
                start=start,
                key_type=key_type_of(key_facts(current_issuing)),
            )
            directory.record(ISSUING_ROLE, generation, issuing.certificate)
            made.append(Rotated(ISSUING_ROLE, generation, issuing.certificate))
            dependants = [r for r in SERVICE_ROLES if directory.has_certificate(r)]
        else:
            issuing = open_ca_pair(directory, backend, ISSUING_ROLE)
            dependants = [role]
        previous_signer = current_service_certificate(directory, backend, TRUST_LIST_ROLE)
        services = ServiceCertificates(directory, backend, issuing, urls, environment)
        for service in dependants:
            pair = services.issue(service, start)
            made.append(Rotated(service, directory.generation(service), pair.certificate))
        if directory.has_certificate(TRUST_LIST_ROLE):
            publisher = TrustListPublisher(directory, backend, environment, urls.base)
            publisher.publish(start, previous_signer)
    return made
