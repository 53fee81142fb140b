"""Certificate Manager operations: what is decided locally, before the platform is asked.

The rule under test: everything that can fail for local reasons fails *before* a key is
generated and a certificate spent. The platform here is a closed local port, so a check
that ran too late shows up as ``unavailable`` instead of the expected refusal; the
positive controls prove that a valid call does go on to the network. Issuing, renewing
and revoking for real are tested end to end against the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.platform import PlatformClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager import certificates as manager
from ehcert.manager.certificates import Step
from ehcert.manager.keystore_steps import free_path
from ehcert.pki.keystore import keystore_filename, read_keystore_file
from ehcert.pki.keystore_entries import KeyEntry, Keystore

from .conftest import (
    EID_PIN,
    ISSUED_AT,
    KEYSTORE_PASSWORD,
    SSIN,
    EidFiles,
    Issued,
    KeystoreFiles,
)

NOT_AFTER = dt.datetime(2029, 3, 2, 9, 30, tzinfo=dt.UTC)
BEFORE_WINDOW = dt.datetime(2028, 12, 1, 9, 30, tzinfo=dt.UTC)  # window opens 2028-12-02
IN_WINDOW = dt.datetime(2029, 1, 15, tzinfo=dt.UTC)


@pytest.fixture
def offline(closed_port_url: str) -> Iterator[PlatformClient]:
    with PlatformClient(closed_port_url, timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def credential(eid_files: EidFiles) -> Pkcs12EidCredential:
    return Pkcs12EidCredential.from_file(eid_files.p12, EID_PIN)


def _kind(call: object) -> ErrorKind:
    assert callable(call)
    with pytest.raises(EhcertError) as caught:
        call()
    return caught.value.kind


# --- revocation reasons --------------------------------------------------------------------


def test_reasons_are_the_rfc_5280_names_in_any_case() -> None:
    assert manager.validate_revocation_reason("KEYCOMPROMISE") == "keyCompromise"
    assert manager.validate_revocation_reason("superseded") == "superseded"


def test_an_unknown_reason_lists_the_accepted_ones() -> None:
    with pytest.raises(EhcertError) as caught:
        manager.validate_revocation_reason("certificateHold")
    assert caught.value.field == "reason"
    assert caught.value.detail == (
        "The revocation reason 'certificateHold' is not accepted; use one of unspecified, "
        "keyCompromise, affiliationChanged, superseded, cessationOfOperation, "
        "privilegeWithdrawn."
    )


# --- the local view ------------------------------------------------------------------------


def test_view_before_the_renewal_window(keystore_files: KeystoreFiles) -> None:
    view = manager.describe_certificate(keystore_files.certificate, BEFORE_WINDOW)
    assert view.holder == f"SSIN={SSIN}"
    assert view.not_after == NOT_AFTER
    assert view.days_left == 91
    assert view.renewal_opens == dt.datetime(2028, 12, 2, 9, 30, tzinfo=dt.UTC)
    assert (view.renewal_window_open, view.expired) == (False, False)


def test_view_inside_the_window_and_after_expiry(keystore_files: KeystoreFiles) -> None:
    inside = manager.describe_certificate(keystore_files.certificate, IN_WINDOW)
    assert (inside.renewal_window_open, inside.days_left) == (True, 46)
    after = manager.describe_certificate(
        keystore_files.certificate, NOT_AFTER + dt.timedelta(hours=1)
    )
    assert (after.expired, after.renewal_window_open, after.days_left) == (True, False, -1)


def test_describe_keystore_reads_the_authentication_certificate(
    keystore_files: KeystoreFiles,
) -> None:
    view = manager.describe_keystore(keystore_files.path, KEYSTORE_PASSWORD, ISSUED_AT)
    assert view.serial == format(keystore_files.certificate.serial_number, "x")
    assert (
        _kind(lambda: manager.describe_keystore(keystore_files.path, "wrong", ISSUED_AT))
        is ErrorKind.UNAUTHORIZED
    )
    assert (
        _kind(
            lambda: manager.describe_keystore(
                keystore_files.path.with_name("gone.p12"), "x", ISSUED_AT
            )
        )
        is ErrorKind.NOT_FOUND
    )


# --- request: refusals before the key is made ------------------------------------------------


def _request(
    client: PlatformClient, credential: Pkcs12EidCredential, out_dir: Path, **changes: object
) -> Path:
    arguments: dict[str, object] = {
        "institution": None,
        "application_id": None,
        "out_dir": out_dir,
        "password": "a long keystore password",
        "environment_hint": "acceptance",
        "now": ISSUED_AT,
    }
    arguments.update(changes)
    return manager.request_certificate(client, credential, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "kind", "field"),
    [
        ({"application_id": "MYAPP"}, ErrorKind.MALFORMED, "application_id"),
        ({"institution": "NIHII-HOSPITAL=123"}, ErrorKind.MALFORMED, "institution"),
        (
            {"institution": "CBE=0123456749", "application_id": "bad app"},
            ErrorKind.MALFORMED,
            "application_id",
        ),
        ({"environment_hint": "staging"}, ErrorKind.MALFORMED, "environment"),
        ({"password": ""}, ErrorKind.MALFORMED, "password"),
        ({"password": "a"}, ErrorKind.MALFORMED, "password"),
        ({"password": "password"}, ErrorKind.MALFORMED, "password"),
        ({"password": "aaaaaaaaaaaaa"}, ErrorKind.MALFORMED, "password"),
    ],
)
def test_request_refuses_bad_input_before_anything_is_sent(
    offline: PlatformClient,
    credential: Pkcs12EidCredential,
    tmp_path: Path,
    changes: dict[str, object],
    kind: ErrorKind,
    field: str,
) -> None:
    with pytest.raises(EhcertError) as caught:
        _request(offline, credential, tmp_path, **changes)
    assert (caught.value.kind, caught.value.field) == (kind, field)


def test_request_refuses_an_output_path_that_is_a_file(
    offline: PlatformClient, credential: Pkcs12EidCredential, tmp_path: Path
) -> None:
    a_file = tmp_path / "keystores"
    a_file.write_bytes(b"")
    with pytest.raises(EhcertError, match="is not a directory") as caught:
        _request(offline, credential, a_file)
    assert caught.value.field == "out_dir"


def test_a_missing_output_directory_is_created_private(
    offline: PlatformClient, credential: Pkcs12EidCredential, tmp_path: Path
) -> None:
    missing = tmp_path / "new" / "keystores"
    assert _kind(lambda: _request(offline, credential, missing)) is ErrorKind.UNAVAILABLE
    assert missing.is_dir()
    assert missing.stat().st_mode & 0o777 == 0o700


def test_request_refuses_to_overwrite_the_planned_keystore(
    offline: PlatformClient, credential: Pkcs12EidCredential, tmp_path: Path
) -> None:
    existing = tmp_path / keystore_filename(f"SSIN={SSIN}", ISSUED_AT, "acceptance")
    existing.write_bytes(b"precious")
    with pytest.raises(EhcertError) as caught:
        _request(offline, credential, tmp_path)
    assert caught.value.kind is ErrorKind.CONFLICT
    assert str(existing) in caught.value.detail
    assert existing.read_bytes() == b"precious"


def test_a_valid_request_goes_on_to_the_platform(
    offline: PlatformClient, credential: Pkcs12EidCredential, tmp_path: Path
) -> None:
    steps: list[Step] = []
    with pytest.raises(EhcertError) as caught:
        _request(offline, credential, tmp_path, progress=steps.append)
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert steps == [Step.GENERATING_KEY, Step.REQUESTING]
    # No keystore; only the new keys, saved for the next attempt (manager.pending).
    assert [path.name for path in tmp_path.iterdir()] == [f".SSIN={SSIN}.request-keys"]


# --- renew and revoke: refusals before the platform is asked --------------------------------


def test_renewal_before_the_window_is_refused_locally(
    offline: PlatformClient, keystore_files: KeystoreFiles
) -> None:
    with pytest.raises(EhcertError) as caught:
        manager.renew_certificate(offline, keystore_files.path, KEYSTORE_PASSWORD, BEFORE_WINDOW)
    assert caught.value.kind is ErrorKind.RENEWAL_TOO_EARLY
    assert "2028-12-02" in caught.value.detail


def test_renewal_after_expiry_is_refused_locally(
    offline: PlatformClient, keystore_files: KeystoreFiles
) -> None:
    late = NOT_AFTER + dt.timedelta(days=1)
    assert (
        _kind(
            lambda: manager.renew_certificate(offline, keystore_files.path, KEYSTORE_PASSWORD, late)
        )
        is ErrorKind.CERTIFICATE_EXPIRED
    )


def test_renewal_inside_the_window_goes_on_to_the_platform(
    offline: PlatformClient, keystore_files: KeystoreFiles
) -> None:
    assert (
        _kind(
            lambda: manager.renew_certificate(
                offline, keystore_files.path, KEYSTORE_PASSWORD, IN_WINDOW
            )
        )
        is ErrorKind.UNAVAILABLE
    )


def test_revocation_checks_reason_and_serial_first(
    offline: PlatformClient, keystore_files: KeystoreFiles, credential: Pkcs12EidCredential
) -> None:
    assert (
        _kind(
            lambda: manager.revoke_certificate(
                offline, keystore_files.path, KEYSTORE_PASSWORD, "because"
            )
        )
        is ErrorKind.MALFORMED
    )
    assert (
        _kind(lambda: manager.revoke_with_eid(offline, credential, "xyz", "keyCompromise"))
        is ErrorKind.MALFORMED
    )
    assert (
        _kind(
            lambda: manager.revoke_certificate(offline, keystore_files.path, "wrong", "superseded")
        )
        is ErrorKind.UNAUTHORIZED
    )
    assert (
        _kind(lambda: manager.revoke_with_eid(offline, credential, "0A:1B", "keyCompromise"))
        is ErrorKind.UNAVAILABLE
    )


def test_a_taken_name_gets_the_serial_appended(tmp_path: Path) -> None:
    wanted = tmp_path / "SSIN=79021802145 20290115-000000.acc-p12"
    assert free_path(wanted, "ab") == wanted
    wanted.write_bytes(b"old")
    second = free_path(wanted, "ab")
    assert second.name == "SSIN=79021802145 20290115-000000-ab.acc-p12"
    second.write_bytes(b"older")
    assert free_path(wanted, "ab").name.endswith("-ab-2.acc-p12")


def test_renewal_keeps_every_other_entry(
    keystore_files: KeystoreFiles, eid_files: EidFiles, test_ca: Issued
) -> None:
    old = read_keystore_file(keystore_files.path, KEYSTORE_PASSWORD)
    current = old.authentication()
    # an encryption key of the old certificate, aliased by its decimal serial
    encryption = KeyEntry(
        str(current.certificate.serial_number),
        current.private_key,
        current.certificate,
        current.chain,
    )
    # another key pair with its certificate stands in for the renewed one
    new_key, new_cert, _ = pkcs12.load_key_and_certificates(
        eid_files.p12.read_bytes(), EID_PIN.encode()
    )
    assert isinstance(new_key, rsa.RSAPrivateKey)
    assert new_cert is not None
    fresh = KeyEntry("authentication", new_key, new_cert, (test_ca.certificate,))
    renewed = manager.renewed_keystore(Keystore(old.with_entry(encryption).entries, ()), fresh)
    assert renewed.authentication() == fresh
    assert [e.alias for e in renewed.entries] == ["authentication", encryption.alias]
    assert renewed.encryption_keys() == (encryption,)
    assert renewed.ca_certificates == (test_ca.certificate,)
