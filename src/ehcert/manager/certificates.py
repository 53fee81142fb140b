"""Certificate Manager operations: request, renew, revoke and inspect a certificate.

These functions hold the workflow and nothing of a user interface: the ``ehcert cert``
commands and the local web UI both call them. They talk to the platform only through a
:class:`~ehcert.client.platform.PlatformClient` and to the disk only through the
keystore module, and take ``now`` as an argument (DESIGN.md: no hidden clocks).

Two rules shape every flow:

- **the private key is never lost once the platform has certified it.** Everything that
  can fail for local reasons (output directory, existing file, password, renewal window)
  is checked *before* the key is generated and the request sent; the new keys are saved
  beside the keystores before the request goes out (``manager.pending``), so a process
  killed after the platform signed completes the work when run again; after the
  answer, the only remaining step is writing the keystore, and a name clash there picks
  another name instead of discarding the key;
- **nothing is overwritten.** A renewal writes a *new* keystore, named like a fresh one
  from the renewal date (``keystore_filename``), next to the old file, which stays
  untouched. That is how eHealth's own Certificate Manager names keystores (holder plus
  creation date), the old file is the backup without inventing a second naming scheme,
  and configurations pointing to the old file keep working until they are switched over
  (the old certificate stays valid until it expires or is revoked). The new keystore
  carries over every non-authentication entry of the old one, so encryption keys of
  earlier certificates stay available to open old messages (DESIGN.md, "Renew").

Request and renewal (``manager.renewal``; the shared steps are ``manager.keystore_steps``,
the views ``manager.certificate_views``, revocation ``manager.revocation``) also make a
new encryption key pair, certified by the new
authentication key and stored under its certificate's decimal serial; once the keystore
is written, its ETK is registered with the depot (``manager.etk``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509

from ehcert.client.eid import EidCredential
from ehcert.client.integrator import IntegratorClient, IntegratorRequest
from ehcert.client.keys import (
    EidRequestSigner,
    build_csr,
)
from ehcert.client.platform import DigitalKeyLogin, PlatformClient
from ehcert.client.results import IssuedCertificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, InstitutionId, validate_application_id
from ehcert.core.keys import KEY_POLICY
from ehcert.manager.etk import encryption_entry
from ehcert.manager.keystore_steps import (
    Progress,
    Step,
    check_certifies,
    check_legacy_flag,
    check_output_directory,
    journal_kept_unless_refused,
    keystore_holding,
    new_keys,
    no_progress,
    register_written,
    require_aware,
    unique,
    write_new_keystore,
)
from ehcert.manager.password import check_new_password
from ehcert.manager.pending import (
    discard_pending_keys,
    load_pending_keys,
    request_journal,
    save_pending_keys,
)
from ehcert.pki.keystore import keystore_filename
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, KeyEntry, Keystore

ENVIRONMENTS = ("acceptance", "production")


def request_certificate(
    client: PlatformClient,
    credential: EidCredential | DigitalKeyLogin | IntegratorRequest,
    *,
    institution: str | None,
    application_id: str | None,
    out_dir: Path,
    password: str,
    environment_hint: str | None = None,
    now: dt.datetime,
    progress: Progress | None = None,
    key_size: int = KEY_POLICY.rsa_default_bits,
    encryption_key_size: int = KEY_POLICY.rsa_default_bits,
    legacy_compatible: bool = False,
    key_type: str | None = None,
) -> Path:
    """Request a certificate with an eID and write it with its new key to a keystore.

    ``credential`` is the eID, or for a person without one the digital key a
    registration office issued (the hybrid method; the holder's own certificate only),
    or on acceptance an integrator's request for one of its test identities
    (:class:`~ehcert.client.integrator.IntegratorRequest`, with ``client`` an
    :class:`~ehcert.client.integrator.IntegratorClient`; ``ehcert.manager.integrator``).

    ``key_type`` (``rsa-2048``, ``rsa-3072``, ``ec-p256``, ``ec-p384``) is the type of
    both new keys, authentication and encryption (eHealth's second-generation
    certificates hold P-384 for both). Without it, RSA keys of ``key_size`` and
    ``encryption_key_size`` when either is not the default, else the platform's advice
    (:meth:`PlatformClient.default_key_type`). The eID's own key type is detected
    (``EidRequestSigner``) and has no bearing on the new keys.

    ``institution`` (``TYPE=ID``) asks for an organisation's certificate, optionally
    bound to ``application_id``; without it the certificate is the eID holder's own.
    ``environment_hint`` is the environment the caller expects (``acceptance`` or
    ``production``): with it the keystore's file name is known before anything is sent,
    so an existing file is refused before a certificate is spent. The name finally used
    comes from the platform's answer; if that one is taken after all, the serial number
    is appended rather than overwriting or dropping the new key. The keystore holds the
    entry ``authentication`` (key, certificate, chain), the new encryption key under its
    certificate's decimal serial and the CA certificates, and is written atomically with
    mode 0600; then the encryption key's ETK is registered (``manager.etk``). Returns
    the keystore's path. ``legacy_compatible`` writes it with the legacy algorithms older
    Java readers need (:func:`~ehcert.pki.keystore.dump_keystore`).
    """
    check_legacy_flag(legacy_compatible)
    require_aware(now)
    report = progress or no_progress
    institution_id, app = _requested_holder(institution, application_id)
    check_new_password(password, field="password")
    if environment_hint is not None and environment_hint not in ENVIRONMENTS:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"The environment {environment_hint!r} is unknown; use one of "
            f"{', '.join(ENVIRONMENTS)}.",
            field="environment",
        )
    check_output_directory(out_dir)
    expected, journal_name = _planned_holder(credential, institution_id, app)
    if environment_hint is not None and expected is not None:
        planned = out_dir / keystore_filename(str(expected), now, environment_hint)
        if planned.exists():
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"The keystore {planned} already exists; move it away or choose "
                "another output directory.",
                field="out_dir",
            )

    journal = request_journal(out_dir, journal_name) if journal_name is not None else None
    pending = load_pending_keys(journal, password) if journal is not None else None
    if pending is None:
        key, encryption_key = new_keys(
            key_type,
            key_size,
            encryption_key_size,
            advised=client.default_key_type,
            report=report,
        )
        if journal is not None:
            save_pending_keys(journal, (key, encryption_key), password)
    else:  # an interrupted request of this holder into this folder: the same key again
        key, encryption_key = pending
        written = keystore_holding(out_dir, key, password)
        if written is not None and journal is not None:  # it got as far as the keystore
            discard_pending_keys(journal)
            path, authentication, encryption = written
            register_written(client, path, authentication, encryption, report)
            return path
    csr = build_csr(key)
    report(Step.REQUESTING)
    with journal_kept_unless_refused(journal):
        if isinstance(credential, DigitalKeyLogin):
            issued = client.request_with_digital_key(credential, csr)
        elif isinstance(credential, IntegratorRequest):
            issued = _request_for_test_identity(client, credential, csr, institution_id, app)
        else:
            issued = client.request_certificate(
                EidRequestSigner(credential),
                csr,
                str(institution_id) if institution_id else None,
                app,
            )
    check_certifies(issued, key)
    report(Step.WRITING_KEYSTORE)
    chain = unique(issued.chain)
    entry = KeyEntry(AUTHENTICATION_ALIAS, key, issued.certificate, chain)
    encryption = encryption_entry(entry, encryption_key)
    keystore = Keystore((entry, encryption), chain)
    path = write_new_keystore(
        out_dir, issued, keystore, password, now, legacy_compatible=legacy_compatible
    )
    if journal is not None:
        discard_pending_keys(journal)
    register_written(client, path, entry, encryption, report)
    return path


def _requested_holder(
    institution: str | None, application_id: str | None
) -> tuple[InstitutionId | None, str | None]:
    institution_id: InstitutionId | None = None
    if institution is not None:
        try:
            institution_id = InstitutionId.parse(institution)
        except ValueError as exc:
            raise EhcertError(
                ErrorKind.MALFORMED, f"The institution is invalid: {exc}.", field="institution"
            ) from None
    if application_id is not None:
        if institution_id is None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "An application id needs an institution; a certificate for a person has none.",
                field="application_id",
            )
        try:
            validate_application_id(application_id)
        except ValueError as exc:
            raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="application_id") from None
    return institution_id, application_id


def _request_for_test_identity(
    client: PlatformClient,
    credential: IntegratorRequest,
    csr: bytes,
    institution: InstitutionId | None,
    app: str | None,
) -> IssuedCertificate:
    if not isinstance(client, IntegratorClient):
        raise TypeError("an IntegratorRequest needs an IntegratorClient")
    return client.request_test_certificate(
        credential.signer,
        csr,
        ssin=credential.ssin,
        institution=str(institution) if institution else None,
        application_id=app,
        mandate_holder=credential.mandate_holder,
    )


def _planned_holder(
    credential: EidCredential | DigitalKeyLogin | IntegratorRequest,
    institution: InstitutionId | None,
    app: str | None,
) -> tuple[Holder | None, str | None]:
    """Who the certificate will name when that is known before asking (an eID or an
    integrator's request says), and the name of the request's journal
    (``manager.pending``): the holder, or the digital key's username, whose holder only
    the platform knows."""
    if isinstance(credential, IntegratorRequest):
        planned = _test_holder(credential, institution, app)
        return planned, str(planned)
    if isinstance(credential, DigitalKeyLogin):
        if institution is not None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "A digital key requests its holder's own certificate only; an "
                "institution's needs the eID of its mandated certificate holder.",
                field="institution",
            )
        return None, f"digital-key={credential.username}"
    expected = _expected_holder(credential, institution, app)
    return expected, str(expected) if expected is not None else None


def _test_holder(
    credential: IntegratorRequest, institution: InstitutionId | None, app: str | None
) -> Holder:
    """The test person or the test institution the integrator names: exactly one."""
    if (credential.ssin is None) == (institution is None):
        raise EhcertError(
            ErrorKind.MALFORMED,
            "Name either the test person (ssin) or the test institution (institution).",
            field="ssin",
        )
    try:
        if credential.ssin is not None:
            return Holder("SSIN", credential.ssin)
    except ValueError as exc:
        raise EhcertError(ErrorKind.MALFORMED, f"The {exc}.", field="ssin") from None
    assert institution is not None
    return Holder(institution.type, institution.value, app)


def _expected_holder(
    credential: EidCredential, institution: InstitutionId | None, app: str | None
) -> Holder | None:
    """Who the certificate will name: the institution, or the eID's SSIN (its subject
    ``serialNumber``). ``None`` when the eID does not say, so no name can be planned."""
    if institution is not None:
        return Holder(institution.type, institution.value, app)
    numbers = credential.certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    try:
        return Holder("SSIN", str(numbers[0].value)) if numbers else None
    except ValueError:
        return None
