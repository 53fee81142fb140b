"""``cert request`` and ``cert renew`` with ``--legacy-compatible`` against a running platform.

The keystores they write must be legacy (3DES key bags and certificates, HMAC-SHA1 MAC,
read from the file), hold every key, open in Java's keytool where it is installed, and
the commands must end with the one-line warning on stderr, ``--json`` included.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import typer
from asn1crypto import pkcs12
from typer.testing import CliRunner, Result

from ehcert.cli.cert import cert_app
from ehcert.cli.options import LEGACY_WARNING, CertRuntime
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

INSIDE_WINDOW = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.parametrize("running", ["sqlite"], indirect=True)


def _run(env: RunningPlatform, *args: str) -> Result:
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    return CliRunner(env={"EHCERT_PLATFORM": env.url}).invoke(
        root, ["cert", *args], obj=CertRuntime(clock=env.clock), input=""
    )


def _protection(path: Path) -> tuple[str, set[str]]:
    """The MAC hash and every encryption algorithm used in the file."""
    pfx = pkcs12.Pfx.load(path.read_bytes())
    algorithms: set[str] = set()
    for content_info in pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native):
        if content_info["content_type"].native == "encrypted_data":
            info = content_info["content"]["encrypted_content_info"]
            algorithms.add(info["content_encryption_algorithm"]["algorithm"].native)
        else:
            for bag in pkcs12.SafeContents.load(content_info["content"].native):
                algorithms.add(bag["bag_value"]["encryption_algorithm"]["algorithm"].native)
    return pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native, algorithms


def _keytool_aliases(path: Path, password: str) -> set[str] | None:
    """Aliases of the key entries keytool lists; None only where Java is not installed."""
    keytool = shutil.which("keytool")
    if keytool is None:
        return None
    command = [keytool, "-list", "-storetype", "PKCS12", "-keystore", str(path)]
    result = subprocess.run(
        [*command, "-storepass", password],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {line.split(",")[0] for line in result.stdout.splitlines() if "PrivateKeyEntry" in line}


def test_request_and_renew_write_legacy_keystores_java_reads(
    env: RunningPlatform, actors: Actors
) -> None:
    actors.add_provider()
    actors.eid()
    (eid_file,) = actors.directory.glob("eid-*.p12")
    pin_file = actors.directory / "pin.txt"
    pin_file.write_text("1234\n")
    password_file = actors.directory / "password.txt"
    password_file.write_text(actors.password + "\n")
    out_dir = actors.directory / "keystores"

    requested = _run(
        env,
        "request",
        "--eid",
        str(eid_file),
        "--pin-file",
        str(pin_file),
        "--out-dir",
        str(out_dir),
        "--password-file",
        str(password_file),
        "--legacy-compatible",
        "--json",
    )
    assert requested.exit_code == 0, requested.output
    assert requested.stderr == LEGACY_WARNING + "\n"
    first = Path(json.loads(requested.stdout)["keystore"])
    assert _protection(first) == ("sha1", {"pkcs12_sha1_tripledes_3key"})
    aliases = {e.alias for e in read_keystore_file(first, actors.password).entries}
    assert len(aliases) == 2 and "authentication" in aliases
    java_aliases = _keytool_aliases(first, actors.password)
    assert java_aliases in (None, aliases)

    env.clock.set(INSIDE_WINDOW)
    renewed = _run(
        env,
        "renew",
        "--keystore",
        str(first),
        "--password-file",
        str(password_file),
        "--legacy-compatible",
    )
    assert renewed.exit_code == 0, renewed.output
    assert renewed.stderr == LEGACY_WARNING + "\n"
    (second,) = set(out_dir.iterdir()) - {first}
    assert _protection(second) == ("sha1", {"pkcs12_sha1_tripledes_3key"})
    renewed_aliases = {e.alias for e in read_keystore_file(second, actors.password).entries}
    assert len(renewed_aliases) == 3 and aliases < renewed_aliases
    assert _keytool_aliases(second, actors.password) in (None, renewed_aliases)
