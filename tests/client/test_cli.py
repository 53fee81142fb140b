"""``ehcert cert``: exit codes, one-sentence errors, JSON output, no secrets in argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner, Result

from ehcert.cli.cert import cert_app

from .conftest import EidFiles, KeystoreFiles


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    return root


@pytest.fixture
def run(app: typer.Typer, closed_port_url: str):  # type: ignore[no-untyped-def]
    def invoke(*args: str) -> Result:
        return CliRunner(env={"EHCERT_PLATFORM": closed_port_url}).invoke(
            app, ["cert", *args], input=""
        )

    return invoke


def _one_sentence(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    assert lines[0].endswith("."), text
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["request", "--eid", "a.p12"], "--out-dir"),
        (["request", "--out-dir", "."], "--eid-pkcs11"),
        (["request", "--out-dir", ".", "--eid", "a.p12", "--eid-pkcs11", "m.so"], "not both"),
        (
            ["request", "--out-dir", ".", "--eid", "a.p12", "--application", "APP"],
            "needs --institution",
        ),
        (["request", "--out-dir", ".", "--eid", "a.p12", "--institution", "HOSPITAL"], "TYPE=ID"),
        (["request", "--out-dir", ".", "--eid", "a.p12", "--key-size", "1024"], "2048"),
        (["revoke", "--keystore", "k.p12", "--reason", "bored"], "privilegeWithdrawn"),
        (["revoke", "--keystore", "k.p12", "--eid", "a.p12", "--serial", "1f"], "either"),
        (["revoke", "--eid", "a.p12"], "needs --serial"),
        (["revoke", "--eid", "a.p12", "--serial", "zz"], "hexadecimal"),
        (["renew"], "--keystore"),
        (["status", "--keystore", "k.p12", "--password", "secret"], "--password"),
        (["request", "--out-dir", ".", "--eid", "a.p12", "--pin", "1234"], "--pin"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_usage_errors_exit_2(run, args: list[str], says: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.stderr.replace("│", " ").split())
    assert result.stdout == ""


def test_platform_url_is_required(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner(env={"EHCERT_PLATFORM": None}).invoke(
        app, ["cert", "renew", "--keystore", str(tmp_path / "k.p12")]
    )
    assert result.exit_code == 2
    assert "--platform" in result.stderr


def test_no_option_takes_a_secret_as_its_value() -> None:
    command = get_command(cert_app)
    subcommands = command.commands  # type: ignore[attr-defined]
    assert set(subcommands) == {
        "request",
        "renew",
        "revoke",
        "status",
        "show",
        "change-password",
        "export",
        "list",
        "watch",
        "auto-renew",
    }
    for name, sub in subcommands.items():
        for param in sub.params:
            for option in getattr(param, "opts", []):
                if any(word in option for word in ("password", "pin")):
                    assert option.endswith("-file") or option == "--eid-pkcs11", (name, option)


def test_missing_pin_file_exits_1_with_one_sentence(  # type: ignore[no-untyped-def]
    run, eid_files: EidFiles, tmp_path: Path
) -> None:
    missing = tmp_path / "pin.txt"
    result = run(
        "request",
        "--eid",
        str(eid_files.p12),
        "--pin-file",
        str(missing),
        "--out-dir",
        str(tmp_path),
        "--password-file",
        str(missing),
    )
    assert result.exit_code == 1
    assert _one_sentence(result.stderr) == f"The eID PIN file {missing} does not exist."
    assert result.stdout == ""


def test_wrong_pin_is_one_sentence(run, eid_files: EidFiles, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pin = tmp_path / "pin"
    pin.write_text("0000\n")
    result = run("revoke", "--eid", str(eid_files.p12), "--pin-file", str(pin), "--serial", "1f")
    assert result.exit_code == 1
    assert "PIN is wrong" in _one_sentence(result.stderr)


def test_json_failure_is_one_object_on_stdout(  # type: ignore[no-untyped-def]
    run, keystore_files: KeystoreFiles, tmp_path: Path
) -> None:
    result = run(
        "status",
        "--keystore",
        str(keystore_files.path),
        "--password-file",
        str(tmp_path / "none"),
        "--json",
    )
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert answer["error"]["kind"] == "malformed"
    assert answer["error"]["detail"] == _one_sentence(result.stderr)


def test_unreachable_platform_exits_1(  # type: ignore[no-untyped-def]
    run, keystore_files: KeystoreFiles, closed_port_url: str
) -> None:
    result = run(
        "status",
        "--keystore",
        str(keystore_files.path),
        "--password-file",
        str(keystore_files.password_file),
    )
    assert result.exit_code == 1
    sentence = _one_sentence(result.stderr)
    assert sentence.startswith(f"The platform at {closed_port_url} cannot be reached: ")


def test_wrong_keystore_password_exits_1(  # type: ignore[no-untyped-def]
    run, keystore_files: KeystoreFiles, tmp_path: Path
) -> None:
    wrong = tmp_path / "pw"
    wrong.write_text("not it\n")
    result = run("renew", "--keystore", str(keystore_files.path), "--password-file", str(wrong))
    assert result.exit_code == 1
    assert _one_sentence(result.stderr) == "The keystore password is wrong."
