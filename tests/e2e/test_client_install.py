"""The client side installs and works alone: ``pip install ehcert`` without the server.

A fresh virtual environment (no system site packages) gets this checkout installed the
way a care provider installs it, without the ``server`` extra. There, the platform's
libraries are absent (importing them fails), the platform commands say how to install
them, and the Certificate Manager and the SDK do their work: ``cert status`` offline,
``seal`` for a recipient whose ETK comes from a served platform, ``unseal`` of a message
from outside.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ehcert.cli.server_commands import INSTALL_HINT

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]

CHECKOUT = Path(__file__).resolve().parents[2]
FIXTURES = CHECKOUT / "tests" / "fixtures" / "etee"
DOCTOR_B = "85071212390"


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding ``ehcert`` as ``pip install ehcert`` would install it."""
    root = tmp_path_factory.mktemp("client-install")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(CHECKOUT / name, source / name)
    shutil.copytree(
        CHECKOUT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return venv


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "ehcert"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=venv,
    )


@pytest.mark.slow
@pytest.mark.parametrize("module", ["fastapi", "sqlalchemy", "alembic", "psycopg", "pkilint"])
def test_the_platform_libraries_are_not_installed(client_venv: Path, module: str) -> None:
    probe = subprocess.run(
        [str(client_venv / "bin" / "python"), "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["serve", "--data-dir", "x"], ["admin", "audit", "verify"]])
def test_platform_commands_say_how_to_install_the_server(
    client_venv: Path, command: list[str]
) -> None:
    done = _run(client_venv, *command)
    assert done.returncode == 1
    assert done.stderr.strip() == INSTALL_HINT


@pytest.mark.slow
def test_status_and_unseal_offline(client_venv: Path, tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("test\n")
    keystore = str(FIXTURES / "bob" / "bobs_private_key_store.p12")
    status = _run(
        client_venv, "cert", "status", "--keystore", keystore, "--password-file", str(password)
    )
    assert status.returncode == 0, status.stderr
    assert "CN=Bob" in status.stdout
    opened = _run(
        client_venv, "unseal", "--keystore", keystore, "--password-file", str(password),
        "--offline", str(FIXTURES / "msg" / "triple_wrapped_correct.msg"), str(tmp_path / "out"),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out").stat().st_size > 0


@pytest.mark.slow
def test_seal_for_a_recipient_of_a_served_platform(
    client_venv: Path, actors: Actors, tmp_path: Path
) -> None:
    actors.add_provider()
    actors.add_provider(DOCTOR_B, first_name="Zoë", last_name="Lefèvre")
    sender = actors.keystore(actors.eid(), folder="a")
    actors.keystore(actors.eid(DOCTOR_B, first_name="Zoë", last_name="Lefèvre"), folder="b")
    password = tmp_path / "password"
    password.write_text(actors.password + "\n")
    (tmp_path / "letter.txt").write_bytes(b"discharge letter")
    sealed = _run(
        client_venv, "seal", "--platform", actors.env.url, "--keystore", str(sender),
        "--password-file", str(password), "--to", f"SSIN={DOCTOR_B}",
        str(tmp_path / "letter.txt"), str(tmp_path / "letter.p7"),
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert (tmp_path / "letter.p7").stat().st_size > 0
