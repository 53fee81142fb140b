"""A software integrator's keystores: its integrator keystore, and its test identities'.

- :func:`enrol_integrator` makes the integrator's key, trades the one-time enrolment
  secret and the CSR for the integrator certificate (``ehcert.client.integrator``) and
  writes the integrator keystore (``.acc-p12``, 0600): the authentication entry only,
  since an integrator certificate signs the integrator's requests and receives no
  messages. The key is made after the local checks (folder, password), as in every
  flow of :mod:`ehcert.manager.certificates`;
- :func:`integrator_signer` opens that keystore as the signer of the integrator calls;
- :func:`request_test_certificate` is the Certificate Manager's request flow
  (:func:`ehcert.manager.certificates.request_certificate`) for a test identity: new
  authentication and encryption keys, the certificate asked with the integrator's
  signer instead of an eID, the keystore written, then the encryption key's ETK
  registered with the depot under the new certificate, as for everyone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ehcert.client.integrator import IntegratorClient, IntegratorRequest
from ehcert.client.keys import KeyEntryRequestSigner, build_csr, generate_key
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.certificates import request_certificate
from ehcert.manager.keystore_steps import (
    check_certifies,
    check_output_directory,
    open_keystore,
    require_aware,
    unique,
    write_new_keystore,
)
from ehcert.manager.password import check_new_password
from ehcert.pki.keystore_entries import AUTHENTICATION_ALIAS, KeyEntry, Keystore


def enrol_integrator(
    client: IntegratorClient,
    cbe: str,
    secret: str,
    *,
    out_dir: Path,
    password: str,
    now: dt.datetime,
    key_type: str | None = None,
) -> Path:
    """Enrol with the one-time ``secret``; the path of the new integrator keystore."""
    require_aware(now)
    check_new_password(password, field="password")
    check_output_directory(out_dir)
    if not isinstance(secret, str) or not secret.strip():
        raise EhcertError(ErrorKind.MALFORMED, "The enrolment secret is required.", field="secret")
    key = generate_key(key_type or client.default_key_type())
    issued = client.enrol(cbe, secret.strip(), build_csr(key))
    check_certifies(issued, key)
    chain = unique(issued.chain)
    entry = KeyEntry(AUTHENTICATION_ALIAS, key, issued.certificate, chain)
    return write_new_keystore(
        out_dir, issued, Keystore((entry,), chain), password, now, legacy_compatible=False
    )


def integrator_signer(keystore: Path, password: str) -> KeyEntryRequestSigner:
    """The signer of the integrator calls: the integrator keystore's authentication key."""
    _, entry = open_keystore(keystore, password)
    return KeyEntryRequestSigner(entry)


def request_test_certificate(
    client: IntegratorClient,
    signer: KeyEntryRequestSigner,
    *,
    ssin: str | None = None,
    institution: str | None = None,
    application_id: str | None = None,
    mandate_holder: str | None = None,
    out_dir: Path,
    password: str,
    now: dt.datetime,
    key_type: str | None = None,
) -> Path:
    """A test identity's keystore, with its ETK published; the keystore's path.

    ``ssin`` names a test person; or ``institution`` (``TYPE=ID``, optionally bound to
    ``application_id``) a test institution, for the test person ``mandate_holder`` who
    holds its test mandate.
    """
    return request_certificate(
        client,
        IntegratorRequest(signer, ssin, mandate_holder),
        institution=institution,
        application_id=application_id,
        out_dir=out_dir,
        password=password,
        environment_hint="acceptance",
        now=now,
        key_type=key_type,
    )
