"""``ehcert etk get`` and ``ehcert etk register`` against a real platform over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import typer
from cryptography.hazmat.primitives import hashes
from typer.testing import CliRunner, Result

from ehcert.cli.etk import etk_app
from ehcert.pki.etk import parse_etk
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(etk_app, name="etk")
    return root


def _run(app: typer.Typer, actors: Actors, *args: str) -> Result:
    return CliRunner().invoke(app, ["etk", *args, "--platform", actors.env.url])


def test_etk_get_writes_the_etk_and_describes_it_in_json(
    app: typer.Typer, actors: Actors, tmp_path: Path
) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    (encryption,) = read_keystore_file(path, actors.password).encryption_keys()
    out = tmp_path / "doctor.etk"

    result = _run(app, actors, "get", f"SSIN={actors.doctor}", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert parse_etk(out.read_bytes()).encryption_certificate == encryption.certificate
    assert shown["fingerprint"] == encryption.certificate.fingerprint(hashes.SHA256()).hex()
    assert shown["encryption_serial"] == encryption.alias
    assert shown["subject"] == encryption.certificate.subject.rfc4514_string()
    assert shown["not_after"] == encryption.certificate.not_valid_after_utc.isoformat()
    assert shown["out"] == str(out)


def test_etk_get_for_an_unknown_holder_exits_1_naming_it(
    app: typer.Typer, actors: Actors, tmp_path: Path
) -> None:
    result = _run(app, actors, "get", "NIHII-HOSPITAL=71000436", "--application", "APP1")
    assert result.exit_code == 1
    assert result.stderr.strip() == "No ETK is published for NIHII-HOSPITAL=71000436,APP1."


def test_etk_register_republishes_the_keystore_etk(
    app: typer.Typer, actors: Actors, tmp_path: Path
) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    before = json.loads(_run(app, actors, "get", f"SSIN={actors.doctor}", "--json").stdout)
    password_file = tmp_path / "password"
    password_file.write_text(actors.password + "\n")
    actors.env.clock.advance(dt.timedelta(hours=1))

    result = _run(
        app, actors, "register", "--keystore", str(path), "--password-file", str(password_file),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert again["encryption_serial"] == before["encryption_serial"]
    assert again["fingerprint"] == before["fingerprint"]
    assert again["published_at"] > before["published_at"]
