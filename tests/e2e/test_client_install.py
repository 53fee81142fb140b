"""The client side installs and works alone: ``pipx install ehcert`` without the server.

This checkout is built into a wheel (what ``pip install ehcert`` fetches) and installed
the way the README tells a care provider to: with pipx, which gives ``ehcert`` a fresh
virtual environment of its own, without the ``server`` extra. There, the platform's
libraries are absent (importing them fails), the platform commands say how to install
them, and the Certificate Manager and the SDK do their work: ``cert status`` offline,
``etk get`` and ``seal`` for a recipient of a served platform, ``unseal`` of a message
from outside, and ``manager ui`` serving its page from the installed templates.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from tests.conftest import without_faketime

from ehcert.cli.server_commands import INSTALL_HINT

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]

CHECKOUT = Path(__file__).resolve().parents[2]
FIXTURES = CHECKOUT / "tests" / "fixtures" / "etee"
DOCTOR_B = "85071212390"


@dataclass(frozen=True)
class ClientInstall:
    """Where pipx put ``ehcert``: the command and the interpreter of its own venv."""

    ehcert: Path
    python: Path


@pytest.fixture(scope="module")
def client_install(tmp_path_factory: pytest.TempPathFactory) -> ClientInstall:
    """``ehcert`` as a care provider installs it: a wheel of this checkout, by pipx.

    Building and installing run on the machine's own clock (libfaketime removed): pipx
    fetches pip from the package index over TLS, whose certificates are checked against
    the clock (RFC 5280 6.1.3), and a wheel is a ZIP file, whose timestamps end in 2107.
    Under ``make test-future`` the installed ``ehcert`` then runs on the moved clock."""
    real_clock = without_faketime(os.environ)
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
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
         "-w", str(root / "wheels"), str(source)],
        capture_output=True, text=True, timeout=600, check=False, env=real_clock,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "wheels").glob("ehcert-*.whl")
    pipx_env = {
        **real_clock,
        "PIPX_HOME": str(root / "pipx"),
        "PIPX_BIN_DIR": str(root / "bin"),
        "PIPX_MAN_DIR": str(root / "man"),
    }
    installed = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(wheel)],
        capture_output=True, text=True, timeout=900, check=False, env=pipx_env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return ClientInstall(
        ehcert=root / "bin" / "ehcert", python=root / "pipx" / "venvs" / "ehcert" / "bin" / "python"
    )


def _run(
    client: ClientInstall, *args: str, at: dt.datetime | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ehcert``; with ``at``, its clock starts there (Debian
    ``faketime``), so it agrees with the served platform's test clock about which
    certificates are current (the suite's own libfaketime removed: that wrapper alone sets
    the clock)."""
    clock = [] if at is None else ["faketime", "-f", at.strftime("@%Y-%m-%d %H:%M:%S")]
    environ = os.environ if at is None else without_faketime(os.environ)
    return subprocess.run(
        [*clock, str(client.ehcert), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=client.ehcert.parent,
        env={**environ, "TZ": "UTC"},
    )


@pytest.mark.slow
@pytest.mark.parametrize("module", ["fastapi", "sqlalchemy", "alembic", "psycopg", "pkilint"])
def test_the_platform_libraries_are_not_installed(
    client_install: ClientInstall, module: str
) -> None:
    probe = subprocess.run(
        [str(client_install.python), "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["serve", "--data-dir", "x"], ["admin", "audit", "verify"]])
def test_platform_commands_say_how_to_install_the_server(
    client_install: ClientInstall, command: list[str]
) -> None:
    done = _run(client_install, *command)
    assert done.returncode == 1
    assert done.stderr.strip() == INSTALL_HINT


@pytest.mark.slow
def test_status_and_unseal_offline(client_install: ClientInstall, tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("test\n")
    keystore = str(FIXTURES / "bob" / "bobs_private_key_store.p12")
    status = _run(
        client_install, "cert", "status", "--keystore", keystore, "--password-file", str(password)
    )
    assert status.returncode == 0, status.stderr
    assert "CN=Bob" in status.stdout
    opened = _run(
        client_install, "unseal", "--keystore", keystore, "--password-file", str(password),
        "--offline", str(FIXTURES / "msg" / "triple_wrapped_correct.msg"), str(tmp_path / "out"),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out").stat().st_size > 0


@pytest.mark.slow
def test_etk_seal_and_unseal_with_a_served_platform(
    client_install: ClientInstall, actors: Actors, tmp_path: Path
) -> None:
    actors.add_provider()
    actors.add_provider(DOCTOR_B, first_name="Zoë", last_name="Lefèvre")
    sender = actors.keystore(actors.eid(), folder="a")
    recipient = actors.keystore(
        actors.eid(DOCTOR_B, first_name="Zoë", last_name="Lefèvre"), folder="b"
    )
    password = tmp_path / "password"
    password.write_text(actors.password + "\n")
    (tmp_path / "letter.txt").write_bytes(b"discharge letter")
    sealed = _run(
        client_install, "seal", "--platform", actors.env.url, "--keystore", str(sender),
        "--password-file", str(password), "--to", f"SSIN={DOCTOR_B}",
        str(tmp_path / "letter.txt"), str(tmp_path / "letter.p7"), at=actors.env.clock.now(),
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert (tmp_path / "letter.p7").stat().st_size > 0
    fetched = _run(
        client_install, "etk", "get", f"SSIN={DOCTOR_B}", "--platform", actors.env.url,
        "--out", str(tmp_path / "doctor-b.etk"), at=actors.env.clock.now(),
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "doctor-b.etk").stat().st_size > 0
    opened = _run(
        client_install, "unseal", "--platform", actors.env.url, "--keystore", str(recipient),
        "--password-file", str(password), str(tmp_path / "letter.p7"), str(tmp_path / "out.txt"),
        at=actors.env.clock.now(),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out.txt").read_bytes() == b"discharge letter"


@pytest.mark.slow
def test_the_manager_ui_serves_its_pages(client_install: ClientInstall, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(client_install.ehcert), "manager", "ui", "--no-browser", "--keystore-dir",
         str(tmp_path / "keystores")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43}/", url), url
        answer = None
        for _ in range(100):
            try:
                answer = httpx.get(url)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert answer is not None and answer.status_code == 200
        assert "Your keystores" in answer.text
        french = httpx.get(url, headers={"Accept-Language": "fr"})
        assert french.status_code == 200 and '<html lang="fr">' in french.text
    finally:
        process.terminate()
        process.wait(timeout=30)
