"""``cert change-password --legacy-compatible`` and ``change_password(legacy_compatible=)``.

The flag must change what is written (3DES key bags and certificates, an HMAC-SHA1 MAC,
read from the file itself), print the one-line warning on stderr only after success,
also with ``--json`` whose stdout stays one JSON object, and never on a refusal, whose
stderr holds just the error sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from asn1crypto import pkcs12
from typer.testing import CliRunner, Result

from ehcert.cli.cert import cert_app
from ehcert.cli.options import LEGACY_WARNING
from ehcert.manager.password import change_password
from ehcert.pki.keystore import LEGACY_MIN_ITERATIONS, read_keystore_file

from .conftest import PASSWORD

NEW_PASSWORD = "Brand-New-Pass-11!"


def _protection(path: Path) -> tuple[str, set[str]]:
    """The MAC hash and the set of encryption algorithms used anywhere in the file."""
    pfx = pkcs12.Pfx.load(path.read_bytes())
    mac = pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native
    algorithms: set[str] = set()
    for content_info in pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native):
        if content_info["content_type"].native == "encrypted_data":
            info = content_info["content"]["encrypted_content_info"]
            algorithms.add(info["content_encryption_algorithm"]["algorithm"].native)
        else:
            for bag in pkcs12.SafeContents.load(content_info["content"].native):
                algorithms.add(bag["bag_value"]["encryption_algorithm"]["algorithm"].native)
    return mac, algorithms


LEGACY = ("sha1", {"pkcs12_sha1_tripledes_3key"})
MODERN = ("sha256", {"pbes2"})


def _app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    return root


def _change(keystore: Path, old_file: Path, new_file: Path, *flags: str) -> Result:
    args = ["change-password", "--keystore", str(keystore), "--password-file", str(old_file)]
    args += ["--new-password-file", str(new_file), *flags]
    return CliRunner().invoke(_app(), ["cert", *args], input="")


def _secret(folder: Path, name: str, value: str) -> Path:
    path = folder / name
    path.write_text(value + "\n", encoding="utf-8")
    return path


def test_flag_writes_legacy_and_warns_on_stderr(
    person_keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    assert _protection(person_keystore) == MODERN
    result = _change(
        person_keystore,
        password_file,
        _secret(tmp_path, "new", NEW_PASSWORD),
        "--legacy-compatible",
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == LEGACY_WARNING + "\n"
    assert result.stdout == f"The password of {person_keystore} has been changed.\n"
    assert _protection(person_keystore) == LEGACY
    assert read_keystore_file(person_keystore, NEW_PASSWORD).authentication()


def test_json_mode_keeps_the_warning_off_stdout(
    person_keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    result = _change(
        person_keystore,
        password_file,
        _secret(tmp_path, "new", NEW_PASSWORD),
        "--legacy-compatible",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"keystore": str(person_keystore), "changed": True}
    assert result.stderr == LEGACY_WARNING + "\n"
    assert _protection(person_keystore) == LEGACY


def test_without_the_flag_there_is_no_warning_and_the_file_is_modern(
    person_keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    legacy_password = _secret(tmp_path, "legacy", "Legacy-Pass-2026!")
    change_password(
        person_keystore,
        PASSWORD,
        "Legacy-Pass-2026!",
        iterations=LEGACY_MIN_ITERATIONS,
        legacy_compatible=True,
    )
    assert _protection(person_keystore) == LEGACY
    result = _change(person_keystore, legacy_password, _secret(tmp_path, "new", NEW_PASSWORD))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert _protection(person_keystore) == MODERN


def test_a_refusal_prints_only_the_error_sentence(person_keystore: Path, tmp_path: Path) -> None:
    before = person_keystore.read_bytes()
    result = _change(
        person_keystore,
        _secret(tmp_path, "wrong", "wrong"),
        _secret(tmp_path, "new", NEW_PASSWORD),
        "--legacy-compatible",
    )
    assert result.exit_code == 1
    assert result.stderr == "The keystore password is wrong.\n"
    assert person_keystore.read_bytes() == before
