"""``cert auto-renew``, ``cert watch`` and ``cert show`` against a running platform.

The daily jobs of docs/systemd/: auto-renew does nothing (exit 0, says why) before the
window, renews once inside it and then follows the new keystore instead of renewing
again; it stops with exit 1 when a person must act. Watch turns a revocation on the
platform into exit 1.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import typer
from typer.testing import CliRunner, Result

from ehcert.cli.cert import cert_app
from ehcert.cli.keystore import auto_renew_command
from ehcert.cli.options import CertRuntime
from ehcert.manager.keystores import find_keystores
from ehcert.manager.revocation import revoke_certificate

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

assert auto_renew_command is not None
INSIDE_WINDOW = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.parametrize("running", ["sqlite"], indirect=True)


@pytest.fixture
def cli(env: RunningPlatform) -> typer.Typer:
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    return root


def run(cli: typer.Typer, env: RunningPlatform, *args: str) -> Result:
    return CliRunner(env={"EHCERT_PLATFORM": env.url}).invoke(
        cli, ["cert", *args], obj=CertRuntime(clock=env.clock), input=""
    )


@pytest.fixture
def password_file(actors: Actors) -> Path:
    path = actors.directory / "password.txt"
    path.write_text(actors.password + "\n")
    return path


def test_auto_renew_renews_once_inside_the_window(
    cli: typer.Typer, env: RunningPlatform, actors: Actors, password_file: Path
) -> None:
    actors.add_provider()
    old = actors.keystore(actors.eid())
    args = ("auto-renew", "--keystore", str(old), "--password-file", str(password_file))

    early = run(cli, env, *args)
    assert early.exit_code == 0, early.output
    assert "Nothing to do" in early.stdout and "renewal opens on 2028-12-02" in early.stdout
    assert len(find_keystores(old.parent)) == 1

    env.clock.set(INSIDE_WINDOW)
    renewed = run(cli, env, *args, "--json")
    assert renewed.exit_code == 0, renewed.output
    answer = json.loads(renewed.stdout)
    assert answer["outcome"] == "renew" and answer["new_keystore"]
    assert len(find_keystores(old.parent)) == 2

    # The next day's run, still given the OLD file, follows the renewal: nothing to do.
    env.clock.set(INSIDE_WINDOW + dt.timedelta(days=1))
    again = run(cli, env, *args, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["outcome"] == "too-early"
    assert json.loads(again.stdout)["keystore"] == answer["new_keystore"]
    assert len(find_keystores(old.parent)) == 2


def test_watch_and_auto_renew_report_a_revocation(
    cli: typer.Typer, env: RunningPlatform, actors: Actors, password_file: Path
) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    watch = ("watch", "--keystore", str(path), "--password-file", str(password_file))
    assert run(cli, env, *watch, "--platform", env.url).exit_code == 0
    with env.client() as client:
        revoke_certificate(client, path, actors.password, "keyCompromise")

    watched = run(cli, env, *watch)  # EHCERT_PLATFORM is set: the platform is asked
    assert watched.exit_code == 1
    assert "is revoked" in watched.stderr

    shown = run(
        cli, env, "show", "--keystore", str(path), "--password-file", str(password_file), "--json"
    )
    assert json.loads(shown.stdout)["revocation"] == "revoked"

    env.clock.set(INSIDE_WINDOW)
    refused = run(
        cli, env, "auto-renew", "--keystore", str(path), "--password-file", str(password_file)
    )
    assert refused.exit_code == 1
    assert "was revoked" in refused.stderr and "new request" in refused.stderr
    assert len(find_keystores(path.parent)) == 1


def test_export_writes_public_certificates_and_the_published_etk(
    cli: typer.Typer, env: RunningPlatform, actors: Actors, password_file: Path
) -> None:
    from cryptography import x509

    from ehcert.pki.etk import parse_etk
    from ehcert.pki.keystore import read_keystore_file

    actors.add_provider()
    keystore = actors.keystore(actors.eid())
    out = actors.directory / "export"
    done = run(
        cli,
        env,
        "export",
        "--keystore",
        str(keystore),
        "--password-file",
        str(password_file),
        "--out-dir",
        str(out),
        "--json",
    )
    assert done.exit_code == 0, done.output
    files = [Path(p) for p in json.loads(done.stdout)["files"]]
    content = read_keystore_file(keystore, actors.password)
    (encryption,) = content.encryption_keys()
    by_suffix = {p.name.split(" ", 1)[1]: p for p in files}
    chain = x509.load_pem_x509_certificates(
        by_suffix[f"{keystore.name.split(' ')[1].split('.')[0]}-authentication.pem"].read_bytes()
    )
    assert chain[0] == content.authentication().certificate
    etk_file = next(p for p in files if p.suffix == ".etk")
    assert parse_etk(etk_file.read_bytes()).encryption_certificate == encryption.certificate
    assert not any(b"PRIVATE KEY" in p.read_bytes() for p in files)

    again = run(
        cli,
        env,
        "export",
        "--keystore",
        str(keystore),
        "--password-file",
        str(password_file),
        "--out-dir",
        str(out),
    )
    assert again.exit_code == 1
    assert "already exists" in again.stderr
