"""Secrets come from the first line of a file or a hidden prompt, never from argv."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.secrets import read_secret


def test_first_line_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_bytes(b" pass word \r\nsecond line\n")
    assert read_secret(secret, "Keystore password") == " pass word "


def test_file_without_final_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret", encoding="utf-8")
    assert read_secret(secret, "Keystore password") == "s3cret"


def test_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(EhcertError) as caught:
        read_secret(missing, "eID PIN")
    assert caught.value.kind is ErrorKind.MALFORMED
    assert caught.value.detail == f"The eID PIN file {missing} does not exist."


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\nsecret on line two\n"])
def test_empty_first_line_is_refused(tmp_path: Path, content: bytes) -> None:
    secret = tmp_path / "pw"
    secret.write_bytes(content)
    with pytest.raises(EhcertError, match="is empty on its first line"):
        read_secret(secret, "Keystore password")


def test_directory_and_binary_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EhcertError, match="is a directory"):
        read_secret(tmp_path, "Keystore password")
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00secret")
    with pytest.raises(EhcertError, match="not UTF-8"):
        read_secret(binary, "Keystore password")


def _prompting_app(confirm: bool) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def main() -> None:
        try:
            typer.echo(f"got [{read_secret(None, 'Keystore password', confirm=confirm)}]")
        except EhcertError as error:
            typer.echo(error.detail, err=True)
            raise typer.Exit(1) from None

    return app


def test_prompt_is_hidden_and_can_confirm() -> None:
    result = CliRunner().invoke(_prompting_app(True), [], input="hunter2\nhunter2\n")
    assert result.exit_code == 0, result.output
    assert "got [hunter2]" in result.stdout
    assert "hunter2\n" not in result.stdout.replace("got [hunter2]\n", "")


def test_prompt_without_input_is_a_refusal_not_a_hang() -> None:
    result = CliRunner().invoke(_prompting_app(False), [], input="")
    assert result.exit_code == 1
    assert "No keystore password was typed" in result.stderr
