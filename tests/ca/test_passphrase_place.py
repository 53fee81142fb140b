"""The CA key passphrase is kept outside the data directory, and old ones are moved out.

A copy or backup of the data directory (keys, database) must not carry what opens the
keys; a data directory from before keeps opening.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from tests.conftest import T0

from ehcert.core.clock import FixedClock
from ehcert.platform import Platform
from ehcert.platform.root import ca_passphrase_file
from ehcert.settings import Settings


def test_the_default_place_is_beside_the_data_directory_not_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EHCERT_CA_PASSPHRASE_FILE", raising=False)
    settings = Settings(data_dir=tmp_path / "data")
    place = settings.passphrase_path
    assert place == tmp_path / "data-secrets" / "acceptance-ca-passphrase"
    assert not place.is_relative_to(settings.data_dir.resolve())


def test_the_setting_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHCERT_CA_PASSPHRASE_FILE", str(tmp_path / "vault" / "pass"))
    assert Settings(data_dir=tmp_path / "data").passphrase_path == tmp_path / "vault" / "pass"


def test_an_old_data_directory_opens_and_its_passphrase_moves_out(
    ca_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    settings = Settings(data_dir=data_dir, ca_passphrase_file=tmp_path / "outside" / "pass")
    # The layout of older versions: the passphrase in <data dir>/secrets/.
    session_file = Settings(data_dir=data_dir).passphrase_path
    legacy = settings.legacy_passphrase_path
    legacy.parent.mkdir(mode=0o700)
    shutil.copy2(session_file, legacy)

    with caplog.at_level(logging.WARNING):
        platform = Platform.open(settings, FixedClock(T0), initialise=False)
    platform.database.dispose()

    assert not legacy.exists()
    moved = tmp_path / "outside" / "pass"
    assert moved.read_bytes() == session_file.read_bytes()
    assert moved.stat().st_mode & 0o777 == 0o600
    assert moved.parent.stat().st_mode & 0o777 == 0o700
    assert any("moved the CA key passphrase" in r.getMessage() for r in caplog.records)
    assert not any(p.name.endswith("passphrase") for p in data_dir.rglob("*"))


def test_an_old_passphrase_that_cannot_move_is_read_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder would go")
    settings = Settings(data_dir=data_dir, ca_passphrase_file=blocker / "pass")
    legacy = settings.legacy_passphrase_path
    legacy.parent.mkdir(parents=True)
    legacy.write_text("old-passphrase\n")
    with caplog.at_level(logging.WARNING):
        assert ca_passphrase_file(settings) == legacy
    assert legacy.exists()
    assert any("stays in" in r.getMessage() for r in caplog.records)
