"""Every ``ehcert`` command exits 0, 1 (refused or failed) or 2 (usage error), nothing else.

Scripts, cron jobs and systemd units rely on that contract (``ehcert.cli.main``). Two
checks hold it: the source of the command line names no other code in ``typer.Exit``
or ``sys.exit``, and a representative set of failing commands, run as a person would
run them (the installed ``ehcert`` in its own process), each ends with 1 or 2 and one
sentence on stderr, without a traceback.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ehcert.cli

CLI_DIR = Path(ehcert.cli.__file__).parent
EHCERT = Path(sys.executable).parent / "ehcert"
ALLOWED = {"0", "1", "2", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE"}
EXIT_CALL = re.compile(r"(?:typer\.Exit|click\.exceptions\.Exit|sys\.exit|SystemExit)\(([^)]*)\)")

pytestmark = pytest.mark.slow


def test_the_command_line_source_names_no_other_exit_code() -> None:
    found: list[str] = []
    for module in sorted(CLI_DIR.glob("*.py")):
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            for match in EXIT_CALL.finditer(line):
                code = match.group(1).strip() or "0"
                if code not in ALLOWED:
                    found.append(f"{module.name}:{number}: {line.strip()}")
    assert not found, found
    assert any(EXIT_CALL.search(m.read_text()) for m in CLI_DIR.glob("*.py"))  # the check sees


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    """A loopback port some other program already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with files that are not what the commands want."""
    directory = tmp_path_factory.mktemp("exit-codes")
    (directory / "password").write_text("choose-a-long-password\n", encoding="utf-8")
    (directory / "not-a-keystore.p12").write_bytes(b"not PKCS#12")
    (directory / "not-an-etk").write_bytes(b"\x30\x03\x02\x01\x00")
    (directory / "empty-platform").mkdir()
    return directory


def _commands(folder: Path, busy_port: int) -> list[tuple[list[str], int]]:
    closed = "http://127.0.0.1:9"  # the discard port: nothing answers there
    keystore = str(folder / "not-a-keystore.p12")
    password = str(folder / "password")
    empty = str(folder / "empty-platform")
    return [
        (["frobnicate"], 2),
        (["cert", "request", "--out-dir", str(folder)], 2),
        (["cert", "request", "--out-dir", str(folder), "--eid", "a.p12", "--eid-pkcs11"], 2),
        (["cert", "revoke", "--keystore", keystore, "--reason", "bored"], 2),
        (["manager", "ui", "--port", "70000"], 2),
        (["unseal", "only-one-argument"], 2),
        (["sts", "token", "--platform", closed], 2),
        (["cert", "request", "--out-dir", str(folder), "--eid", "missing.p12",
          "--pin-file", password, "--password-file", password, "--platform", closed], 1),
        (["cert", "request", "--out-dir", str(folder), "--eid-pkcs11",
          "--pin-file", password, "--password-file", password, "--platform", closed], 1),
        (["cert", "status", "--keystore", keystore, "--password-file", password], 1),
        (["cert", "renew", "--keystore", keystore, "--password-file", password,
          "--platform", closed], 1),
        (["etk", "get", "SSIN=79021802145", "--platform", closed], 1),
        (["etk", "show", str(folder / "not-an-etk")], 1),
        (["sts", "token", "--keystore", keystore, "--password-file", password,
          "--platform", closed, "--out", str(folder / "token.xml")], 1),
        (["admin", "--data-dir", empty, "audit", "verify"], 1),
        (["admin", "crl", "publish", "--data-dir", empty], 1),
        (["serve", "--data-dir", str(folder / "serve"), "--port", str(busy_port)], 1),
        (["manager", "ui", "--port", str(busy_port), "--no-browser",
          "--keystore-dir", str(folder)], 1),
    ]  # fmt: skip


def test_failing_commands_exit_1_or_2_with_one_sentence(folder: Path, busy_port: int) -> None:
    environment = {
        **os.environ,
        "EHCERT_EID_PKCS11": str(folder / "no-such-module.so"),
        "COLUMNS": "200",
    }
    for name in ("EHCERT_DATA_DIR", "EHCERT_PLATFORM"):
        environment.pop(name, None)
    wrong: list[str] = []
    for args, expected in _commands(folder, busy_port):
        done = subprocess.run(
            [str(EHCERT), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            cwd=folder,
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        said = done.stderr.strip()
        if done.returncode != expected or "Traceback" in said or not said:
            wrong.append(f"{' '.join(args)} -> {done.returncode}: {said[-300:]}")
    assert not wrong, "\n".join(wrong)
    assert not (folder / "data").exists()  # no command made a platform where none was asked
