"""``ehcert admin integrator add|list|secret`` and ``ehcert integrator enrol|identity|cert``
on an acceptance platform, and none of it in production."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from tests.e2e.conftest import RunningPlatform
from typer.testing import CliRunner, Result

from ehcert.cli.main import app
from ehcert.cli.options import CertRuntime
from ehcert.core.names import parse_ehealth_subject
from ehcert.core.reserved_ssins import is_reserved_test_ssin
from ehcert.pki.keystore import read_keystore_file

PASSWORD = "a long keystore password"


def _admin(platform: RunningPlatform, *args: str) -> Result:
    settings = platform.platform.settings
    common = ["--data-dir", str(platform.data_dir), "--db", settings.database_url]
    common += ["--environment", settings.environment]
    return CliRunner().invoke(app, ["admin", "integrator", *args, *common])


def test_an_operator_registers_an_integrator_and_lists_it(env: RunningPlatform) -> None:
    added = _admin(
        env, "add", "--cbe", "0123.456.749", "--name", "Medisoft NV", "--form-reference", "RF-7"
    )
    assert added.exit_code == 0, added.output
    registered, secret = added.output.strip().splitlines()
    assert registered == "Registered integrator CBE 0123456749 (Medisoft NV), request form RF-7."
    # The console's clock is the operator's (real) one: the date is not checked here.
    assert re.fullmatch(
        r"One-time enrolment secret \(valid until \S+, for 'ehcert integrator enrol'\): \S{43}",
        secret,
    ), secret
    listed = _admin(env, "list", "--json")
    assert listed.exit_code == 0, listed.output
    (only,) = json.loads(listed.output)["integrators"]
    assert (only["cbe"], only["name"], only["form_reference"]) == (
        "0123456749",
        "Medisoft NV",
        "RF-7",
    )
    again = _admin(env, "add", "--cbe", "0123456749", "--name", "X", "--form-reference", "RF-8")
    assert again.exit_code == 1
    assert "Integrator CBE 0123456749 is registered already." in again.output


def test_a_production_platform_has_no_integrators(production: RunningPlatform) -> None:
    for args in (
        ("add", "--cbe", "0123456749", "--name", "Medisoft NV", "--form-reference", "RF-7"),
        ("list",),
        ("secret", "0123456749"),
    ):
        refused = _admin(production, *args)
        assert refused.exit_code == 1, refused.output
        assert "Integrators exist only in the acceptance environment" in refused.output


def _integrator(platform: RunningPlatform, *args: str) -> Result:
    runtime = CertRuntime(clock=platform.clock)
    return CliRunner().invoke(app, ["integrator", *args, "--platform", platform.url], obj=runtime)


def test_an_integrator_enrols_makes_a_test_person_and_gets_its_keystore(
    env: RunningPlatform, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    added = _admin(
        env, "add", "--cbe", "0123456749", "--name", "Medisoft NV", "--form-reference", "RF-7",
        "--secret-file", str(secret), "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["enrolment_secret_file"] == str(secret)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    enrolled = _integrator(
        env, "enrol", "--cbe", "0123456749", "--secret-file", str(secret),
        "--out-dir", str(tmp_path), "--password-file", str(password), "--key-type", "ec-p256",
        "--json",
    )  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output
    keystore = json.loads(enrolled.stdout)["keystore"]
    signed = ["--keystore", keystore, "--password-file", str(password)]

    person = _integrator(
        env, "identity", "add", "person", *signed, "--first-name", "Test",
        "--last-name", "Dokter", "--json",
    )  # fmt: skip
    assert person.exit_code == 0, person.output
    ssin = json.loads(person.stdout)["ssin"]
    assert is_reserved_test_ssin(ssin)
    listed = _integrator(env, "identity", "list", *signed)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.strip() == f"person\tSSIN={ssin}\tTest Dokter\tdoctor"

    requested = _integrator(
        env, "cert", "request", *signed, "--ssin", ssin, "--out-dir", str(tmp_path / "test"),
        "--new-password-file", str(password), "--key-type", "ec-p256", "--json",
    )  # fmt: skip
    assert requested.exit_code == 0, requested.output
    entry = read_keystore_file(Path(json.loads(requested.stdout)["keystore"]), PASSWORD)
    subject = parse_ehealth_subject(entry.authentication().certificate.subject)
    assert subject.holder_text == f"SSIN={ssin}"
    assert len(entry.encryption_keys()) == 1

    spent = _integrator(
        env, "enrol", "--cbe", "0123456749", "--secret-file", str(secret),
        "--out-dir", str(tmp_path), "--password-file", str(password), "--key-type", "ec-p256",
    )  # fmt: skip
    assert spent.exit_code == 1
    assert "wrong, spent or expired" in spent.output
    renewed = _admin(env, "secret", "0123456749", "--json")
    assert renewed.exit_code == 0, renewed.output
    assert json.loads(renewed.output)["enrolment_secret"]


def test_a_production_platform_has_no_integrator_commands(
    production: RunningPlatform, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not-a-secret\n")
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    refused = _integrator(
        production, "enrol", "--cbe", "0123456749", "--secret-file", str(secret),
        "--out-dir", str(tmp_path), "--password-file", str(password), "--key-type", "ec-p256",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "has no integrator routes: integrators and test identities exist only on an " in (
        refused.output
    )
