"""Keystore listing, offline status and the new ``ehcert cert`` commands, without a platform.

Includes every real keystore of tests/fixtures/etee (written by other eHealth
implementations, legacy algorithms, password ``test``): each one opens and lists its keys.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import typer
from cryptography import x509
from typer.testing import CliRunner, Result

from ehcert.cli.cert import cert_app
from ehcert.cli.keystore import show_command
from ehcert.cli.options import CertRuntime
from ehcert.core.clock import FixedClock
from ehcert.manager.keystores import (
    HolderKind,
    WatchLevel,
    describe_keystore_name,
    find_keystores,
    key_views,
    read_summary,
    watch_finding,
)
from ehcert.pki.keystore import read_keystore_file

from .conftest import FIXTURES, ISSUED_AT, PASSWORD, SSIN

assert show_command is not None
IN_WINDOW = dt.datetime(2029, 1, 10, tzinfo=dt.UTC)
EXPIRED = dt.datetime(2029, 3, 3, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    return root


def run(app: typer.Typer, *args: str, now: dt.datetime = ISSUED_AT) -> Result:
    return CliRunner().invoke(
        app, ["cert", *args], obj=CertRuntime(clock=FixedClock(now)), input=""
    )


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.p12")), ids=lambda p: p.name)
def test_every_field_keystore_opens_and_lists_its_keys(path: Path) -> None:
    keystore = read_keystore_file(path, "test")
    views = key_views(keystore)
    assert len(views) == len(keystore.entries) + len(keystore.unsupported_entries) >= 1
    roles = {view.role for view in views}
    assert roles <= {"authentication", "encryption", "other", "unusable"}
    for view in views:
        if view.role == "encryption":
            assert view.alias.isdigit() and int(view.alias) == int(view.serial or "0", 16)
        if view.role == "unusable":
            assert view.note


def test_cert_list_shows_every_field_keystore_with_its_keys(
    app: typer.Typer, tmp_path: Path
) -> None:
    password_file = tmp_path / "test.txt"
    password_file.write_text("test\n")
    for folder in ("alice", "bob", "dirk", "other"):
        result = run(
            app,
            "list",
            "--keystore-dir",
            str(FIXTURES / folder),
            "--password-file",
            str(password_file),
            "--json",
        )
        assert result.exit_code == 0, result.output
        listed = json.loads(result.stdout)["keystores"]
        assert [Path(row["keystore"]).name for row in listed] == sorted(
            p.name for p in (FIXTURES / folder).glob("*.p12")
        )
        for row in listed:
            assert row["locked"] is False
            assert row["keys"], row
            if "certificate" not in row:  # e.g. encryption-only keystores
                assert "authentication" in row["problem"]
            else:
                assert row["revocation"] == "unknown"


def test_multi_key_field_keystore_summary() -> None:
    summary = read_summary(FIXTURES / "dirk" / "dirks_private_key_store.p12", "test", ISSUED_AT)
    assert summary.holder == "NIHII=123456789012"
    assert summary.holder_kind is HolderKind.INDIVIDUAL
    assert summary.certificate.expired
    assert [key.alias for key in summary.encryption_keys] == [
        "181715627343265013099014779068509107"
    ]
    assert summary.environment is None and summary.revocation == "unknown"


def test_names_and_listing_of_our_own_keystores(keystore_dir: Path) -> None:
    (keystore_dir / ".SSIN=1 20260302-093000.acc-p12.abc.new").write_bytes(b"half")
    (keystore_dir / "notes.txt").write_text("not a keystore")
    found = find_keystores(keystore_dir)
    assert [item.holder_hint for item in found] == ["NIHII-HOSPITAL=71000436", f"SSIN={SSIN}"]
    assert {item.environment for item in found} == {"acceptance"}
    assert {item.created for item in found} == {ISSUED_AT}
    other = describe_keystore_name(Path("bob.p12"))
    assert (other.holder_hint, other.environment, other.created) == (None, None, None)
    production = describe_keystore_name(Path("CBE=0123456749 20260101-000000.p12"))
    assert production.environment == "production"


def test_summary_of_an_institution_and_a_person(keystore_dir: Path) -> None:
    hospital, person = (
        read_summary(item.path, PASSWORD, ISSUED_AT) for item in find_keystores(keystore_dir)
    )
    assert hospital.holder_kind is HolderKind.INSTITUTION
    assert hospital.display_name == "AZ SINT-JAN BRUGGE"
    assert person.holder_kind is HolderKind.INDIVIDUAL
    assert person.display_name == "ALICE PEETERS"
    assert len(person.encryption_keys) == 1
    assert person.certificate.renewal_opens == dt.datetime(2028, 12, 2, 9, 30, tzinfo=dt.UTC)


def test_show_works_offline(app: typer.Typer, person_keystore: Path, password_file: Path) -> None:
    result = run(
        app, "show", "--keystore", str(person_keystore), "--password-file", str(password_file)
    )
    assert result.exit_code == 0, result.output
    assert "ALICE PEETERS (SSIN=79021802145)" in result.stdout
    assert "Renewal:      opens on 2028-12-02" in result.stdout
    assert "Revocation:   unknown (no platform asked)" in result.stdout
    data = json.loads(
        run(
            app,
            "show",
            "--keystore",
            str(person_keystore),
            "--password-file",
            str(password_file),
            "--json",
        ).stdout
    )
    assert data["revocation"] == "unknown" and data["holder_kind"] == "individual"


def test_watch_warns_in_the_window_and_on_expiry(
    app: typer.Typer, keystore_dir: Path, password_file: Path
) -> None:
    args = ("watch", "--keystore-dir", str(keystore_dir), "--password-file", str(password_file))
    quiet = run(app, *args)
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.count("OK: the certificate of") == 2
    window = run(app, *args, now=IN_WINDOW)
    assert window.exit_code == 1
    assert "WARNING: the certificate of SSIN=79021802145" in window.stderr
    assert "renew it now" in window.stderr
    expired = run(app, *args, "--json", now=EXPIRED)
    assert expired.exit_code == 1
    levels = {f["level"] for f in json.loads(expired.stdout)["findings"]}
    assert levels == {WatchLevel.EXPIRED.value}


def test_change_password_command(
    app: typer.Typer, person_keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    new_file = tmp_path / "new.txt"
    new_file.write_text("Brand-New-Pass-11!\n")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("wrong\n")
    before = person_keystore.read_bytes()
    refused = run(
        app,
        "change-password",
        "--keystore",
        str(person_keystore),
        "--password-file",
        str(wrong),
        "--new-password-file",
        str(new_file),
    )
    assert refused.exit_code == 1
    assert refused.stderr.strip() == "The keystore password is wrong."
    assert person_keystore.read_bytes() == before
    done = run(
        app,
        "change-password",
        "--keystore",
        str(person_keystore),
        "--password-file",
        str(password_file),
        "--new-password-file",
        str(new_file),
    )
    assert done.exit_code == 0, done.output
    assert read_keystore_file(person_keystore, "Brand-New-Pass-11!").authentication()


def test_export_writes_public_certificates_only(
    app: typer.Typer, person_keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    result = run(
        app,
        "export",
        "--keystore",
        str(person_keystore),
        "--password-file",
        str(password_file),
        "--out-dir",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    files = sorted(Path(p).name for p in json.loads(result.stdout)["files"])
    assert files[0].endswith("-authentication.pem") and "-encryption-" in files[1]
    chain = x509.load_pem_x509_certificates((out / files[0]).read_bytes())
    assert len(chain) == 2
    assert all(b"PRIVATE KEY" not in (out / name).read_bytes() for name in files)
    again = run(
        app,
        "export",
        "--keystore",
        str(person_keystore),
        "--password-file",
        str(password_file),
        "--out-dir",
        str(out),
    )
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_list_without_password_uses_file_names(app: typer.Typer, keystore_dir: Path) -> None:
    result = run(app, "list", "--keystore-dir", str(keystore_dir))
    assert result.exit_code == 0, result.output
    assert f"SSIN={SSIN}, acceptance, created 2026-03-02 (locked)" in result.stdout


def test_watch_finding_for_a_revoked_certificate_is_a_warning(keystore_dir: Path) -> None:
    from ehcert.client.results import CertificateState, CertificateStatus

    summary = read_summary(next(keystore_dir.glob("SSIN=*")), PASSWORD, ISSUED_AT)
    view = summary.certificate
    revoked = CertificateStatus(
        view.serial,
        view.subject,
        summary.holder,
        CertificateState.REVOKED,
        view.not_before,
        view.not_after,
        ISSUED_AT,
        "keyCompromise",
        view.renewal_opens,
        False,
    )
    finding = watch_finding(summary, revoked)
    assert finding.is_warning and finding.level is WatchLevel.REVOKED


@pytest.mark.parametrize(
    ("name", "holder", "environment"),
    [
        ("SSIN=79021802145-20230823-085751.acc.p12", "SSIN=79021802145", "acceptance"),
        ("SSIN=79021802145-20230823-085751.p12", "SSIN=79021802145", "production"),
        (
            "NIHII-HOSPITAL=71000436-20240101-120000.acc.p12",
            "NIHII-HOSPITAL=71000436",
            "acceptance",
        ),
        ("whatever.acc.p12", None, "acceptance"),
    ],
)
def test_names_given_by_ehealths_own_tools(name: str, holder: str | None, environment: str) -> None:
    described = describe_keystore_name(Path(name))
    assert (described.holder_hint, described.environment) == (holder, environment)
    if holder is not None:
        assert described.created is not None and described.created.tzinfo is dt.UTC
