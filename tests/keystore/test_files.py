"""Keystore files: atomic 0600 writes, password change, and the eHealth file name."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore import (
    change_keystore_password,
    keystore_filename,
    keystore_suffix,
    read_keystore_file,
    write_keystore_file,
)
from ehcert.pki.keystore_entries import Keystore

FAST = 1_000
PASSWORD = "first password"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable, to show we do not rely on it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_write_creates_a_0600_file_and_leaves_nothing_else(
    ehealth_keystore: Keystore, tmp_path: Path
) -> None:
    target = tmp_path / "SSIN=79021802145 20260301-093000.acc-p12"
    write_keystore_file(target, ehealth_keystore, PASSWORD, iterations=FAST)
    assert _mode(target) == 0o600
    assert list(tmp_path.iterdir()) == [target]
    assert len(read_keystore_file(target, PASSWORD).entries) == 3


@pytest.mark.usefixtures("open_umask")
def test_overwriting_a_readable_file_makes_it_0600(
    ehealth_keystore: Keystore, tmp_path: Path
) -> None:
    target = tmp_path / "keystore.p12"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_keystore_file(target, ehealth_keystore, PASSWORD, iterations=FAST)
    assert _mode(target) == 0o600
    assert list(tmp_path.iterdir()) == [target]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(
    ehealth_keystore: Keystore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inject a disk-full failure at the rename: the previous keystore must survive."""
    target = tmp_path / "keystore.p12"
    write_keystore_file(target, ehealth_keystore, PASSWORD, iterations=FAST)
    before = target.read_bytes()

    def disk_full(source: str, destination: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(EhcertError) as caught:
        write_keystore_file(target, ehealth_keystore, "other", iterations=FAST)
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.field == "path"
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_writing_into_a_missing_folder_is_not_found(
    ehealth_keystore: Keystore, tmp_path: Path
) -> None:
    with pytest.raises(EhcertError) as caught:
        write_keystore_file(tmp_path / "nowhere" / "k.p12", ehealth_keystore, PASSWORD)
    assert caught.value.kind is ErrorKind.NOT_FOUND


def test_reading_errors(tmp_path: Path) -> None:
    with pytest.raises(EhcertError) as caught:
        read_keystore_file(tmp_path / "missing.p12", PASSWORD)
    assert caught.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(EhcertError) as caught:
        read_keystore_file(tmp_path, PASSWORD)
    assert caught.value.kind is ErrorKind.MALFORMED
    with pytest.raises(TypeError):
        read_keystore_file(str(tmp_path / "k.p12"), PASSWORD)  # type: ignore[arg-type]


def test_change_password(ehealth_keystore: Keystore, tmp_path: Path) -> None:
    target = tmp_path / "keystore.p12"
    write_keystore_file(target, ehealth_keystore, PASSWORD, iterations=FAST)
    change_keystore_password(target, PASSWORD, "second password", iterations=FAST)
    with pytest.raises(EhcertError) as caught:
        read_keystore_file(target, PASSWORD)
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    reread = read_keystore_file(target, "second password")
    assert [e.alias for e in reread.entries] == [e.alias for e in ehealth_keystore.entries]
    assert _mode(target) == 0o600
    assert list(tmp_path.iterdir()) == [target]


def test_change_password_checks_the_old_one_first(
    ehealth_keystore: Keystore, tmp_path: Path
) -> None:
    target = tmp_path / "keystore.p12"
    write_keystore_file(target, ehealth_keystore, PASSWORD, iterations=FAST)
    before = target.read_bytes()
    with pytest.raises(EhcertError) as caught:
        change_keystore_password(target, "guess", "second password", iterations=FAST)
    assert caught.value.kind is ErrorKind.UNAUTHORIZED
    assert target.read_bytes() == before
    with pytest.raises(ValueError, match="new_password"):
        change_keystore_password(target, PASSWORD, "", iterations=FAST)
    assert target.read_bytes() == before


def test_change_password_upgrades_a_legacy_keystore(
    tmp_path: Path, openssl: Callable[..., str]
) -> None:
    """After the change, openssl 3 opens the file without its legacy provider."""
    target = tmp_path / "dirk.p12"
    shutil.copyfile(FIXTURES / "dirk" / "dirks_private_key_store.p12", target)
    change_keystore_password(target, "test", "n3w-Password", iterations=FAST)
    info = openssl("pkcs12", "-info", "-in", target, "-passin", "pass:n3w-Password", "-nodes")
    assert "pbeWithSHA1And" not in info
    assert info.count("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC") == 2
    assert info.count("-----BEGIN PRIVATE KEY-----") == 2


@pytest.mark.parametrize(
    ("holder", "created", "environment", "expected"),
    [
        (
            "SSIN=79021802145",
            datetime(2026, 3, 1, 10, 30, 5, tzinfo=timezone(timedelta(hours=1))),
            "acceptance",
            "SSIN=79021802145 20260301-093005.acc-p12",
        ),
        (
            "NIHII-HOSPITAL=71000436,MYAPP",
            datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
            "production",
            "NIHII-HOSPITAL=71000436,MYAPP 20251231-235959.p12",
        ),
    ],
)
def test_keystore_filename(holder: str, created: datetime, environment: str, expected: str) -> None:
    assert keystore_filename(holder, created, environment) == expected


def test_keystore_suffix_says_the_environment() -> None:
    assert keystore_suffix("acceptance") == ".acc-p12"
    assert keystore_suffix("production") == ".p12"
    assert keystore_suffix("staging") == ".p12"


def test_keystore_filename_refuses_bad_values() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        keystore_filename("SSIN=79021802145", datetime(2026, 3, 1), "production")
    with pytest.raises(ValueError, match="environment"):
        keystore_filename("SSIN=79021802145", moment, "test")
    with pytest.raises(ValueError, match="separator"):
        keystore_filename("../SSIN=79021802145", moment, "production")
    with pytest.raises(ValueError, match="holder"):
        keystore_filename("", moment, "production")
    with pytest.raises(TypeError):
        keystore_filename("SSIN=79021802145", "2026-03-01", "production")  # type: ignore[arg-type]
