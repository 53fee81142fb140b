"""Renewing a certificate inside its window, into a new keystore next to the old one.

The old file stays as it was (:mod:`ehcert.manager.certificates` says why); the new one
carries every encryption key of the old, so earlier messages still open (DESIGN.md,
"Renew").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ehcert.client.keys import (
    KeyEntryRequestSigner,
    build_csr,
)
from ehcert.client.platform import DigitalKeyLogin, PlatformClient, serial_of
from ehcert.core.keys import KEY_POLICY, REQUEST_KEY_TYPES, key_type_of
from ehcert.core.policy import check_renewal_window
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
    open_keystore,
    register_written,
    require_aware,
    unique,
    write_new_keystore,
)
from ehcert.manager.pending import (
    discard_pending_keys,
    load_pending_keys,
    renewal_journal,
    save_pending_keys,
)
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.public_keys import key_facts


def _current_key_type(current: KeyEntry) -> str:
    """The type of the keystore's authentication key, when it is one that is generated."""
    found = key_type_of(key_facts(current.private_key))
    return found.name if found is not None and found.name in REQUEST_KEY_TYPES else "rsa-2048"


def renew_certificate(
    client: PlatformClient,
    keystore_path: Path,
    password: str,
    now: dt.datetime,
    *,
    progress: Progress | None = None,
    key_size: int = KEY_POLICY.rsa_default_bits,
    encryption_key_size: int = KEY_POLICY.rsa_default_bits,
    legacy_compatible: bool = False,
    key_type: str | None = None,
    digital_key: DigitalKeyLogin | None = None,
) -> Path:
    """Renew the keystore's certificate with a new key pair; return the NEW keystore's path.

    Signed with the current authentication key, or proven with ``digital_key`` (the
    hybrid method) when given.

    The new keys are of ``key_type`` when given (a holder may move from RSA to EC: the
    old RSA encryption keys stay in the keystore, so old messages still open), else of
    the current authentication key's type (RSA ``key_size`` when that is not the
    default).

    Signed with the current authentication key. Refused locally, before a key is made,
    outside the renewal window (policy: the 90 days before expiry). The new keystore is
    written next to the old one under a fresh ``keystore_filename`` (see the module
    docstring for why the old file is left as it is), with the same password. It also
    gets a new encryption key (certified by the new authentication key) next to every
    earlier one, and the new key's ETK is registered. ``legacy_compatible`` as in
    :func:`request_certificate`; the old file's own algorithms do not matter.

    The new keys are on disk before the request is sent (``manager.pending``): a renewal
    interrupted after the platform signed is completed by running it again.
    """
    check_legacy_flag(legacy_compatible)
    require_aware(now)
    report = progress or no_progress
    keystore, current = open_keystore(keystore_path, password)
    check_renewal_window(current.certificate.not_valid_after_utc, now)
    check_output_directory(keystore_path.parent)

    journal = renewal_journal(keystore_path)
    pending = load_pending_keys(journal, password)
    if pending is None:
        key, encryption_key = new_keys(
            key_type,
            key_size,
            encryption_key_size,
            advised=lambda: _current_key_type(current),
            report=report,
        )
        save_pending_keys(journal, (key, encryption_key), password)
    else:  # an interrupted renewal of this keystore: ask again for the same key
        key, encryption_key = pending
        written = keystore_holding(keystore_path.parent, key, password)
        if written is not None:  # it even got as far as the new keystore
            discard_pending_keys(journal)
            renewed, authentication, encryption = written
            register_written(client, renewed, authentication, encryption, report)
            return renewed
    csr = build_csr(key)
    report(Step.REQUESTING)
    with journal_kept_unless_refused(journal):
        serial = serial_of(current.certificate)
        if digital_key is not None:
            issued = client.renew_with_digital_key(digital_key, csr, serial)
        else:
            issued = client.renew(KeyEntryRequestSigner(current), csr, serial)
    check_certifies(issued, key)
    report(Step.WRITING_KEYSTORE)
    chain = unique(issued.chain)
    entry = KeyEntry(current.alias, key, issued.certificate, chain)
    encryption = encryption_entry(entry, encryption_key)
    updated = renewed_keystore(keystore, entry).with_entry(encryption)
    path = write_new_keystore(
        keystore_path.parent, issued, updated, password, now, legacy_compatible=legacy_compatible
    )
    discard_pending_keys(journal)
    register_written(client, path, entry, encryption, report)
    return path


def renewed_keystore(keystore: Keystore, authentication: KeyEntry) -> Keystore:
    """``keystore`` with its authentication entry replaced and everything else kept.

    Encryption keys of earlier certificates (decimal-serial aliases) and entries this
    package cannot use stay, so old messages still open and nothing the file held is
    lost; the new chain's CA certificates join the old ones.
    """
    renewed = keystore.with_entry(authentication)
    ca_certificates = unique((*authentication.chain, *keystore.ca_certificates))
    return Keystore(renewed.entries, ca_certificates, renewed.unsupported_entries)
