"""The operator's CA ceremonies on the command line: ``ehcert admin ca rotate`` and
``ehcert admin crl publish [--root]``, on copies of the session's template data directory
(keys made once per session).

Rotation makes a new key under the next generation's name and a new certificate; the
issuing CA's needs the root key and re-certifies the service roles under the new
issuing CA; the others need only the issuing key. The root CRL is re-signed only with
``--root``, with a CRL number one above the stored file's and a year's validity.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from ehcert.ca.ceremonies import ROOT_CRL_VALIDITY
from ehcert.cli.main import app
from ehcert.core.clock import FixedClock
from ehcert.core.names import person_subject
from ehcert.pki import profiles
from ehcert.pki.lint import LintProfile, blocking, lint_certificate
from ehcert.platform import Platform
from ehcert.settings import Settings

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def today_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hierarchy made at the real "now": the ``admin`` commands run on the real clock,
    so a hierarchy made at a fixed date would have expired under a clock moved ahead
    (``make test-future``)."""
    directory = tmp_path_factory.mktemp("today-template")
    settings = Settings(data_dir=directory, public_url="http://127.0.0.1:1")
    Platform.open(settings, FixedClock(dt.datetime.now(dt.UTC))).database.dispose()
    return directory


@pytest.fixture
def data_dir(today_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(today_template, target)
    return target


def _pki(data_dir: Path) -> Path:
    return data_dir / "pki" / "acceptance"


def _admin(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["admin", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _openssl_verify(chain: list[x509.Certificate], leaf: x509.Certificate, tmp: Path) -> str:
    root, *intermediates = chain
    files = []
    for index, certificate in enumerate([root, *intermediates, leaf]):
        path = tmp / f"c{index}.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        files.append(str(path))
    args = ["openssl", "verify", "-CAfile", files[0]]
    for path in files[1:-1]:
        args += ["-untrusted", path]
    result = subprocess.run(
        [*args, files[-1]], capture_output=True, text=True, check=False, timeout=60
    )
    return result.stdout + result.stderr


def test_rotating_the_ocsp_responder_needs_no_root_key(data_dir: Path, tmp_path: Path) -> None:
    pki = _pki(data_dir)
    (pki / "root.key").unlink()
    old = _certificate(pki / "ocsp.crt")
    code, output = _admin(data_dir, "ca", "rotate", "ocsp", "--json")
    assert code == 0, output
    (rotated,) = json.loads(output)["rotated"]
    assert (rotated["role"], rotated["generation"]) == ("ocsp", 1)
    assert (pki / "ocsp.key").exists() and (pki / "ocsp-1.key").exists()
    new = _certificate(pki / "ocsp-1.crt")
    assert _certificate(pki / "ocsp.crt") == new != old
    assert json.loads((pki / "generations.json").read_text()) == {"ocsp": 1}
    assert format(new.serial_number, "x") == rotated["serial"]
    assert new.public_key() != old.public_key()
    der = new.public_bytes(serialization.Encoding.DER)
    assert blocking(lint_certificate(der, LintProfile.OCSP_SIGNER)) == []

    again, output = _admin(data_dir, "ca", "rotate", "ocsp", "--json")
    assert again == 0, output
    assert json.loads(output)["rotated"][0]["generation"] == 2
    platform = Platform.open(
        Settings(data_dir=data_dir, public_url="http://127.0.0.1:1"),
        FixedClock(dt.datetime.now(dt.UTC)),
        initialise=False,
    )
    try:
        assert platform.hierarchy.ocsp.certificate == _certificate(pki / "ocsp-2.crt")
    finally:
        platform.database.dispose()


def test_rotating_the_issuing_ca_recertifies_the_services(
    data_dir: Path, tmp_path: Path, session_rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    pki = _pki(data_dir)
    root = _certificate(pki / "root.crt")
    old_issuing = _certificate(pki / "issuing.crt")
    code, output = _admin(data_dir, "ca", "rotate", "issuing", "--json")
    assert code == 0, output
    rotated = {item["role"]: item["generation"] for item in json.loads(output)["rotated"]}
    assert rotated == {"issuing": 1, "ocsp": 1, "etk-depot": 1, "trust-list": 1}
    issuing = _certificate(pki / "issuing-1.crt")
    assert issuing.subject == old_issuing.subject
    assert issuing.public_key() != old_issuing.public_key()
    assert (pki / "issuing.key").exists() and (pki / "issuing-1.key").exists()
    assert "OK" in _openssl_verify([root], issuing, tmp_path)
    for role in ("ocsp", "etk-depot", "trust-list"):
        service = _certificate(pki / f"{role}-1.crt")
        assert ": OK" in _openssl_verify([root, issuing], service, tmp_path), role

    now = dt.datetime.now(dt.UTC)
    platform = Platform.open(
        Settings(data_dir=data_dir, public_url="http://127.0.0.1:1"),
        FixedClock(now),
        initialise=False,
    )
    try:
        assert platform.hierarchy.issuing.certificate == issuing
        leaf = platform.ca.sign_authentication(
            person_subject("79021802145", "Bryan", "Brouckaert"),
            session_rsa_keys[0].public_key(),
            profiles.random_serial(),
            now,
        )
        leaf.verify_directly_issued_by(issuing)
    finally:
        platform.database.dispose()


def test_rotating_the_issuing_ca_without_the_root_key_is_refused(data_dir: Path) -> None:
    pki = _pki(data_dir)
    (pki / "root.key").unlink()
    code, output = _admin(data_dir, "ca", "rotate", "issuing")
    assert code == 1
    assert "root.key does not exist" in output
    assert not (pki / "issuing-1.key").exists()
    assert not (pki / "generations.json").exists()


def test_an_unknown_role_is_named_in_the_refusal(data_dir: Path) -> None:
    code, output = _admin(data_dir, "ca", "rotate", "root")
    assert code == 1
    assert "'root' cannot be rotated; use one of issuing, ocsp, sts, etk-depot" in output


def test_the_root_crl_is_signed_only_by_the_root_ceremony(data_dir: Path, tmp_path: Path) -> None:
    pki = _pki(data_dir)
    stored = x509.load_der_x509_crl((pki / "root.crl").read_bytes())
    assert stored.next_update_utc - stored.last_update_utc == ROOT_CRL_VALIDITY
    number = stored.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    vault = tmp_path / "vault"
    vault.mkdir()
    shutil.move(pki / "root.key", vault / "root.key")

    code, output = _admin(data_dir, "crl", "publish", "--json")  # the old spelling
    assert code == 0, output
    written = {Path(path).name: Path(path) for path in json.loads(output)["crls"]}
    assert set(written) == {
        "acceptance.crl",
        "acceptance-root.crl",
        "acceptance-eid.crl",
        "acceptance-eid-root.crl",
    }
    assert written["acceptance-root.crl"].read_bytes() == (pki / "root.crl").read_bytes()

    refused, output = _admin(data_dir, "crl", "publish", "--root")
    assert refused == 1
    assert "root.key does not exist" in output

    shutil.move(vault / "root.key", pki / "root.key")
    code, output = _admin(data_dir, "crl", "publish", "--root", "--json")
    assert code == 0, output
    fresh = x509.load_der_x509_crl((pki / "root.crl").read_bytes())
    assert fresh.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 1
    assert fresh.is_signature_valid(_certificate(pki / "root.crt").public_key())  # type: ignore[arg-type]
    assert fresh.next_update_utc - fresh.last_update_utc == ROOT_CRL_VALIDITY
    assert fresh.last_update_utc > stored.last_update_utc
    eid_root = x509.load_der_x509_crl((pki / "eid-root.crl").read_bytes())
    assert eid_root.is_signature_valid(_certificate(pki / "eid-root.crt").public_key())  # type: ignore[arg-type]
    assert eid_root.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2


def test_rotation_refuses_a_folder_without_a_platform(tmp_path: Path) -> None:
    folder = tmp_path / "nothing-here"
    code, output = _admin(folder, "ca", "rotate", "ocsp")
    assert code == 1
    assert "holds no ehcert platform" in output
    assert not folder.exists()
