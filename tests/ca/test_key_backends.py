"""Key backends behind one interface: names per role and generation, never reused.

Generation 0 keeps the names data directories have always used (``<role>.key``, label
``ehcert-<environment>-<role>``), so they open unchanged; later generations get
``<role>-<n>.key`` and ``ehcert-<environment>-<role>-<n>``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from ehcert.ca.directory import CaDirectory
from ehcert.ca.keys import FileKeyBackend, KeyBackend, Pkcs11KeyBackend, key_name
from ehcert.ca.service_certificates import ServiceCertificates, next_generation
from ehcert.core.clock import FixedClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import pkcs11, pkcs11_sessions
from ehcert.platform import Platform, ca_directory, key_backend
from ehcert.settings import Settings

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_names_keep_generation_zero_as_it_always_was() -> None:
    assert key_name("ocsp", 0) == "ocsp"
    assert key_name("ocsp", 3) == "ocsp-3"
    backend = Pkcs11KeyBackend("acceptance", pkcs11.SOFTHSM2_MODULE, "token", "pin")
    assert backend.label("issuing", 0) == "ehcert-acceptance-issuing"
    assert backend.label("etk-depot", 2) == "ehcert-acceptance-etk-depot-2"
    with pytest.raises(ValueError, match="unknown CA key role"):
        key_name("mailbox", 1)
    with pytest.raises(ValueError, match="generation"):
        key_name("ocsp", -1)


def _roundtrip(backend: KeyBackend) -> None:
    assert not backend.holds("ocsp", 0)
    first = backend.create("ocsp", 0)
    assert backend.holds("ocsp", 0) and not backend.holds("ocsp", 1)
    second = backend.create("ocsp", 1)
    assert first.public_key() != second.public_key()
    assert backend.open("ocsp", 0).public_key() == first.public_key()
    assert backend.open("ocsp", 1).public_key() == second.public_key()
    with pytest.raises(EhcertError) as taken:
        backend.create("ocsp", 1)
    assert taken.value.kind is ErrorKind.CONFLICT
    with pytest.raises(EhcertError) as missing:
        backend.open("ocsp", 2)
    assert missing.value.kind is ErrorKind.NOT_FOUND


def test_file_backend(tmp_path: Path) -> None:
    backend = FileKeyBackend(tmp_path / "pki", tmp_path / "secrets" / "passphrase")
    _roundtrip(backend)
    assert sorted(p.name for p in (tmp_path / "pki").iterdir()) == ["ocsp-1.key", "ocsp.key"]


def test_pkcs11_backend(softhsm_conf_dir: Path) -> None:
    pkcs11.init_softhsm_token("ehcert-keys", "so-pin-1234", "key-pin-5678", softhsm_conf_dir)
    backend = Pkcs11KeyBackend("production", pkcs11.SOFTHSM2_MODULE, "ehcert-keys", "key-pin-5678")
    _roundtrip(backend)
    token = pkcs11.Pkcs11Token(pkcs11.SOFTHSM2_MODULE, "ehcert-keys", "key-pin-5678")
    assert token.holds_private_key("ehcert-production-ocsp-1")
    pkcs11_sessions.close_sessions()


def test_a_data_dir_from_before_generations_opens_and_rotates_without_collision(
    ca_template: Path, tmp_path: Path
) -> None:
    """The template is laid out as older data directories are: no generations.json,
    unversioned names. A key left behind by an interrupted renewal is stepped over."""
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    pki = data_dir / "pki" / "acceptance"
    assert not (pki / "generations.json").exists()
    settings = Settings(data_dir=data_dir, public_url="http://127.0.0.1:1")
    backend, directory = key_backend(settings), ca_directory(settings)
    assert next_generation(directory, backend, "ocsp") == 1
    backend.create("ocsp", 1)  # an interrupted run's leftover
    assert next_generation(directory, backend, "ocsp") == 2

    later = T0 + dt.timedelta(days=75)
    platform = Platform.open(settings, FixedClock(later), initialise=False)
    try:
        responder = platform.hierarchy.ocsp.certificate
        assert responder.not_valid_before_utc == later  # 15 days left at start: renewed
        assert directory.generation("ocsp") == 2
        assert directory.certificate("ocsp") == (responder, 2)
        assert (pki / "ocsp-2.key").exists() and (pki / "ocsp.key").exists()
        assert platform.hierarchy.issuing.certificate == directory.certificate("issuing")[0]
    finally:
        platform.database.dispose()


def test_a_generations_record_that_is_not_json_is_refused(tmp_path: Path) -> None:
    directory = CaDirectory(tmp_path)
    (tmp_path / "generations.json").write_text("{ocsp: 1")
    with pytest.raises(EhcertError) as broken:
        directory.generation("ocsp")
    assert broken.value.kind is ErrorKind.INTERNAL
    assert "generations.json is not JSON" in broken.value.detail


def test_only_service_roles_get_service_certificates(ca_template: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    platform = Platform.open(
        Settings(data_dir=data_dir, public_url="http://127.0.0.1:1"),
        FixedClock(T0),
        initialise=False,
    )
    try:
        services: ServiceCertificates = platform.hierarchy.services
        with pytest.raises(EhcertError) as refused:
            services.open("issuing", T0)
        assert refused.value.kind is ErrorKind.MALFORMED
        assert refused.value.field == "role"
    finally:
        platform.database.dispose()
