"""``--legacy-compatible`` on ``cert request`` and ``cert renew``, where no platform is needed.

The platform is a closed local port: the flag is accepted and carried to the point where
the platform is asked, and a failure there prints the one error sentence without the
legacy warning (which only follows a keystore actually written; the successful paths run
against the real platform in tests/e2e/test_legacy_keystore_cli.py). A wrong-typed flag
in the manager API is refused before anything is generated or sent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from ehcert.cli.cert import cert_app
from ehcert.cli.options import LEGACY_WARNING, CertRuntime
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import FixedClock
from ehcert.manager.certificates import request_certificate
from ehcert.manager.renewal import renew_certificate

from .conftest import EID_PIN, ISSUED_AT, KEYSTORE_PASSWORD, EidFiles, KeystoreFiles

IN_WINDOW = dt.datetime(2029, 1, 15, tzinfo=dt.UTC)


def _run(platform: str, *args: str, now: dt.datetime = ISSUED_AT) -> Result:
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    return CliRunner(env={"EHCERT_PLATFORM": platform}).invoke(
        root, ["cert", *args], obj=CertRuntime(clock=FixedClock(now)), input=""
    )


def _only_the_unreachable_sentence(result: Result, platform: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"The platform at {platform} cannot be reached: ")
    assert LEGACY_WARNING not in result.output


def test_request_takes_the_flag_and_warns_only_after_writing(
    closed_port_url: str, eid_files: EidFiles, tmp_path: Path
) -> None:
    password_file = tmp_path / "password.txt"
    password_file.write_text("Brand-New-Pass-11!\n")
    result = _run(
        closed_port_url,
        "request",
        "--eid",
        str(eid_files.p12),
        "--pin-file",
        str(eid_files.pin_file),
        "--out-dir",
        str(tmp_path / "out"),
        "--password-file",
        str(password_file),
        "--legacy-compatible",
    )
    _only_the_unreachable_sentence(result, closed_port_url)


@pytest.mark.parametrize("auto", [False, True], ids=["renew", "renew-auto"])
def test_renew_takes_the_flag_and_warns_only_after_writing(
    closed_port_url: str, keystore_files: KeystoreFiles, auto: bool
) -> None:
    args = ["renew", "--keystore", str(keystore_files.path)]
    args += ["--password-file", str(keystore_files.password_file), "--legacy-compatible"]
    result = _run(closed_port_url, *args, *(["--auto"] if auto else []), now=IN_WINDOW)
    _only_the_unreachable_sentence(result, closed_port_url)


def test_a_wrong_typed_flag_is_refused_before_anything_is_sent(
    closed_port_url: str, eid_files: EidFiles, keystore_files: KeystoreFiles, tmp_path: Path
) -> None:
    """TypeError rather than ``unavailable``: the check runs before the network."""
    credential = Pkcs12EidCredential.from_file(eid_files.p12, EID_PIN)
    with PlatformClient(closed_port_url, timeout=5) as client:
        with pytest.raises(TypeError, match="legacy_compatible"):
            request_certificate(
                client,
                credential,
                institution=None,
                application_id=None,
                out_dir=tmp_path,
                password="pw",
                now=ISSUED_AT,
                legacy_compatible="yes",  # type: ignore[arg-type]
            )
        with pytest.raises(TypeError, match="legacy_compatible"):
            renew_certificate(
                client,
                keystore_files.path,
                KEYSTORE_PASSWORD,
                IN_WINDOW,
                legacy_compatible=1,  # type: ignore[arg-type]
            )
    assert list(tmp_path.iterdir()) == []
