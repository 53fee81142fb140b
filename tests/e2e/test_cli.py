"""The command-line contract, end to end: `ehcert serve --demo` as a real process, the
Certificate Manager and admin commands as real processes against it.

Exit 0 = done, 1 = refused (one sentence on stderr), 2 = usage error; --json prints one
JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

EHCERT = [sys.executable, "-m", "ehcert.cli.main"]
DOCTOR = "79021802145"
HOLDER = "66010123462"


@dataclass
class Served:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EHCERT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("served")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (data_dir.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [*EHCERT, "serve", "--data-dir", str(data_dir), "--port", str(port), "--demo"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((data_dir.parent / "serve.log").read_text())
        time.sleep(0.2)
    yield Served(url, data_dir, process)
    process.terminate()
    process.wait(timeout=20)
    log.close()


def test_demo_seed_wrote_eids_and_a_doctor_gets_a_certificate(
    served: Served, tmp_path: Path
) -> None:
    demo = served.data_dir / "demo" / DOCTOR
    assert (demo / "eid.p12").exists()
    assert (demo / "pin.txt").read_text().strip().isdigit()
    password = tmp_path / "password"
    password.write_text("a long keystore password\n")
    out = tmp_path / "keystores"
    done = run(
        "cert",
        "request",
        "--platform",
        served.url,
        "--eid",
        str(demo / "eid.p12"),
        "--pin-file",
        str(demo / "pin.txt"),
        "--out-dir",
        str(out),
        "--password-file",
        str(password),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    keystore = Path(answer["keystore"])
    assert keystore.parent == out and keystore.name.startswith(f"SSIN={DOCTOR} ")
    assert keystore.suffix == ".acc-p12"
    assert oct(keystore.stat().st_mode & 0o777) == "0o600"

    status = run(
        "cert",
        "status",
        "--platform",
        served.url,
        "--keystore",
        str(keystore),
        "--password-file",
        str(password),
        "--json",
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["platform"]["status"] == "valid"

    early = run(
        "cert",
        "renew",
        "--platform",
        served.url,
        "--keystore",
        str(keystore),
        "--password-file",
        str(password),
    )
    assert early.returncode == 1
    assert early.stderr.strip().startswith("Renewal opens on ")
    assert len(early.stderr.strip().splitlines()) == 1

    revoked = run(
        "cert",
        "revoke",
        "--platform",
        served.url,
        "--keystore",
        str(keystore),
        "--password-file",
        str(password),
        "--reason",
        "keyCompromise",
        "--json",
    )
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["status"] == "revoked"


def test_mandate_holder_requests_the_hospital_certificate(served: Served, tmp_path: Path) -> None:
    demo = served.data_dir / "demo" / HOLDER
    password = tmp_path / "password"
    password.write_text("another long password\n")
    done = run(
        "cert",
        "request",
        "--platform",
        served.url,
        "--eid",
        str(demo / "eid.p12"),
        "--pin-file",
        str(demo / "pin.txt"),
        "--institution",
        "NIHII-HOSPITAL=71000436",
        "--application",
        "LABGATEWAY",
        "--out-dir",
        str(tmp_path),
        "--password-file",
        str(password),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    name = Path(json.loads(done.stdout)["keystore"]).name
    assert name.startswith("NIHII-HOSPITAL=71000436,LABGATEWAY ")


def test_refusals_exit_1_with_one_sentence(served: Served, tmp_path: Path) -> None:
    demo = served.data_dir / "demo" / HOLDER  # not a care provider himself
    password = tmp_path / "password"
    password.write_text("a long keystore password\n")
    refused = run(
        "cert",
        "request",
        "--platform",
        served.url,
        "--eid",
        str(demo / "eid.p12"),
        "--pin-file",
        str(demo / "pin.txt"),
        "--out-dir",
        str(tmp_path),
        "--password-file",
        str(password),
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"SSIN {HOLDER} is not in the registry of care providers."
    wrong_pin = tmp_path / "pin"
    wrong_pin.write_text("0000\n")
    bad = run(
        "cert",
        "request",
        "--platform",
        served.url,
        "--eid",
        str(demo / "eid.p12"),
        "--pin-file",
        str(wrong_pin),
        "--out-dir",
        str(tmp_path),
        "--password-file",
        str(password),
    )
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
    weak = tmp_path / "weak"
    weak.write_text("password\n")
    doctor = served.data_dir / "demo" / DOCTOR
    refused_password = run(
        "cert",
        "request",
        "--platform",
        served.url,
        "--eid",
        str(doctor / "eid.p12"),
        "--pin-file",
        str(doctor / "pin.txt"),
        "--out-dir",
        str(tmp_path / "weak-out"),
        "--password-file",
        str(weak),
    )
    assert refused_password.returncode == 1
    assert refused_password.stderr.strip() == (
        "The new password is one of the first ones anybody would try."
    )
    assert not (tmp_path / "weak-out").exists()


def test_usage_errors_exit_2(served: Served) -> None:
    assert run("cert", "request", "--no-such-flag").returncode == 2
    assert run("admin", "provider", "add", "--ssin", DOCTOR).returncode == 2


def test_admin_registry_commands(served: Served) -> None:
    data = ["--data-dir", str(served.data_dir)]
    added = run(
        "admin",
        "provider",
        "add",
        "--ssin",
        "01010100126",
        "--profession",
        "dentist",
        "--first-name",
        "Lotte",
        "--last-name",
        "Claes",
        *data,
        "--json",
    )
    assert added.returncode == 0, added.stderr
    bad = run(
        "admin",
        "provider",
        "add",
        "--ssin",
        "01010100127",
        "--profession",
        "dentist",
        "--first-name",
        "Lotte",
        "--last-name",
        "Claes",
        *data,
    )
    assert bad.returncode == 1
    assert "mod-97" in bad.stderr
    duplicate = run(
        "admin",
        "provider",
        "add",
        "--ssin",
        "01010100126",
        "--profession",
        "dentist",
        "--first-name",
        "Lotte",
        "--last-name",
        "Claes",
        *data,
    )
    assert duplicate.returncode == 1
    withdrawn = run("admin", "provider", "withdraw", "--ssin", "01010100126", *data, "--json")
    assert withdrawn.returncode == 0, withdrawn.stderr
    institution = run(
        "admin",
        "institution",
        "add",
        "--type",
        "NIHII-LABO",
        "--id",
        "81000436",
        "--name",
        "Labo Noord",
        "--security-norms-date",
        "2026-01-01",
        "--data-sharing-authorisation",
        "IVC/26/7",
        *data,
    )
    assert institution.returncode == 0, institution.stderr
    mandate = run(
        "admin", "mandate", "add", "--institution", "NIHII-LABO=81000436", "--holder", HOLDER, *data
    )
    assert mandate.returncode == 0, mandate.stderr
    audit = run("admin", "audit", "verify", *data, "--json")
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout)["ok"] is True
    crl = run("admin", "crl", "publish", *data, "--json")
    assert crl.returncode == 0, crl.stderr
    assert all(Path(p).stat().st_size > 0 for p in json.loads(crl.stdout)["crls"])


def test_serve_on_a_busy_port_refuses_before_seeding(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = run(
            "serve", "--data-dir", str(tmp_path / "data"), "--demo", "--port", str(port)
        )  # fmt: skip
    assert busy.returncode == 1
    (sentence,) = busy.stderr.strip().splitlines()
    assert sentence == (
        f"Port {port} on 127.0.0.1 is already in use; choose another with --port (or EHCERT_PORT)."
    )
    assert "Demo registry ready" not in busy.stdout + busy.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["crl", "publish"],
        ["provider", "withdraw", "--ssin", "92030404542"],
        ["revoke", "--serial", "ab", "--reason", "keyCompromise"],
    ],
)
def test_admin_commands_refuse_a_folder_without_a_platform(
    tmp_path: Path, command: list[str]
) -> None:
    folder = tmp_path / "nothing-here"
    done = run("admin", *command, "--data-dir", str(folder))
    assert done.returncode == 1
    (sentence,) = done.stderr.strip().splitlines()
    assert sentence == (
        f"{folder} holds no ehcert platform; name its folder with --data-dir or "
        "EHCERT_DATA_DIR, or create one with 'ehcert admin init'."
    )
    assert not folder.exists()


def test_admin_options_given_to_the_group_apply_to_its_commands(
    served: Served, tmp_path: Path
) -> None:
    verified = run("admin", "--data-dir", str(served.data_dir), "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    folder = tmp_path / "nothing-here"
    refused = run(
        "admin", "--data-dir", str(folder), "provider", "withdraw", "--ssin", "92030404542"
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith(f"{folder} holds no ehcert platform")
    # The command's own option wins over the group's.
    own = run(
        "admin", "--data-dir", str(folder), "audit", "verify", "--data-dir", str(served.data_dir)
    )
    assert own.returncode == 0, own.stderr
    assert not folder.exists()


EC_DOCTOR = "85071212390"  # the demo's holder of an EC P-384 eID, as cards since 2021


def test_the_demo_ec_eid_requests_ec_keys_and_the_platform_advises_its_default(
    served: Served, tmp_path: Path
) -> None:
    health = httpx.get(f"{served.url}/health").json()
    assert health["default_key_type"] == "rsa-2048"
    demo = served.data_dir / "demo" / EC_DOCTOR
    password = tmp_path / "password"
    password.write_text("a long keystore password\n")
    common = [
        "--platform",
        served.url,
        "--eid",
        str(demo / "eid.p12"),
        "--pin-file",
        str(demo / "pin.txt"),
        "--out-dir",
        str(tmp_path / "keystores"),
        "--password-file",
        str(password),
    ]
    wrong = run("cert", "request", *common, "--key-type", "ec-p521")
    assert wrong.returncode == 2
    said = " ".join(wrong.stderr.replace("│", " ").split())  # typer draws a box around it
    assert "use one of rsa-2048, rsa-3072, ec-p256, ec-p384" in said
    done = run("cert", "request", *common, "--key-type", "ec-p384", "--json")
    assert done.returncode == 0, done.stderr
    keystore = Path(json.loads(done.stdout)["keystore"])
    shown = run("cert", "show", "--keystore", str(keystore), "--password-file", str(password))
    assert shown.returncode == 0, shown.stderr
    listed = subprocess.run(
        ["openssl", "pkcs12", "-in", str(keystore), "-nokeys", "-passin", f"file:{password}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    certificate = listed.split("-----BEGIN CERTIFICATE-----")[1]
    pem = "-----BEGIN CERTIFICATE-----" + certificate.split("-----END CERTIFICATE-----")[0]
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text"],
        input=pem + "-----END CERTIFICATE-----\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "NIST CURVE: P-384" in text


def test_admin_eid_issue_makes_an_ec_p384_eid_in_a_pkcs12_file(
    served: Served, tmp_path: Path
) -> None:
    from ehcert.client.eid import Pkcs12EidCredential, default_algorithm

    pin = tmp_path / "pin"
    pin.write_text("4321\n")
    out = tmp_path / "ec-eid.p12"
    done = run(
        "admin",
        "eid",
        "issue",
        "--data-dir",
        str(served.data_dir),
        "--ssin",
        EC_DOCTOR,
        "--out",
        str(out),
        "--pin-file",
        str(pin),
        "--key-type",
        "ec-p384",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["key_type"] == "ec-p384"
    credential = Pkcs12EidCredential.from_file(out, "4321")
    assert default_algorithm(credential) == "ES384"
    assert "secp384r1" in repr(credential.certificate.public_key().curve.name)  # type: ignore[union-attr]
