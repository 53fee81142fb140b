"""A test eID on a PKCS#11 token (SoftHSM2), used the way an eID card is used.

``issue_test_eid`` puts the key and certificate on the token labelled 'Authentication',
with the citizen CA and root next to them, the way the Belgian eID middleware presents a
card. The Certificate Manager then signs the request inside the token (the key never
leaves it) and gets the doctor's certificate over HTTP.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from ehcert.cli.cert import cert_app
from ehcert.cli.options import CertRuntime
from ehcert.client.eid import Pkcs11EidCredential
from ehcert.manager.certificates import request_certificate
from ehcert.manager.eid_middleware import EID_MODULE_VARIABLE
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, SoftHsmTokens

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def test_doctor_requests_with_an_eid_on_a_pkcs11_token(
    actors: Actors, softhsm_tokens: SoftHsmTokens
) -> None:
    actors.add_provider()
    token = softhsm_tokens.new("eid")
    assert token.module == MODULE
    issued_eid = issue_test_eid(
        actors.env.platform,
        actors.doctor,
        token.pin,
        pkcs11_module=MODULE,
        token_label=token.label,
    )
    assert issued_eid.path is None and issued_eid.token_label == token.label

    credential = Pkcs11EidCredential(MODULE, token.label, token.pin)
    assert format(credential.certificate.serial_number, "x") == issued_eid.serial_hex
    hierarchy = actors.env.platform.hierarchy
    assert hierarchy.eid_ca is not None and hierarchy.eid_root is not None
    assert credential.chain == (hierarchy.eid_ca.certificate, hierarchy.eid_root.certificate)
    assert isinstance(credential.certificate.public_key(), rsa.RSAPublicKey)

    with actors.env.client() as client:
        path = request_certificate(
            client,
            credential,
            institution=None,
            application_id=None,
            out_dir=actors.directory / "ks",
            password=actors.password,
            environment_hint="acceptance",
            now=actors.env.clock.now(),
        )

    certificate = read_keystore_file(path, actors.password).authentication().certificate
    assert certificate.subject.rfc4514_string() == (
        "CN=SSIN=79021802145,OU=eHealth-platform Belgium,OU=BRYAN BROUCKAERT,"
        "OU=SSIN=79021802145,O=Federal Government,C=BE"
    )
    issued = [r for r in actors.audit_records() if r.action == "issued"]
    assert [r.actor for r in issued] == ["eid:SSIN=79021802145"]


def test_the_command_line_finds_the_card_and_revokes_with_it(
    actors: Actors, softhsm_tokens: SoftHsmTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--eid-pkcs11`` without a module: the middleware named by EHCERT_EID_PKCS11."""
    actors.add_provider()
    token = softhsm_tokens.new("eid-cli")
    issue_test_eid(
        actors.env.platform, actors.doctor, token.pin, pkcs11_module=MODULE, token_label=token.label
    )
    monkeypatch.setenv(EID_MODULE_VARIABLE, MODULE)
    pin_file = actors.directory / "pin.txt"
    pin_file.write_text(token.pin + "\n")
    password_file = actors.directory / "password.txt"
    password_file.write_text(actors.password + "\n")
    root = typer.Typer()
    root.add_typer(cert_app, name="cert")
    runner = CliRunner(env={"EHCERT_PLATFORM": actors.env.url})
    runtime = CertRuntime(clock=actors.env.clock)
    card = ["--eid-pkcs11", "--token-label", token.label, "--pin-file", str(pin_file)]
    requested = runner.invoke(
        root,
        ["cert", "request", "--out-dir", str(actors.directory / "ks"), *card,
         "--password-file", str(password_file), "--json"],
        obj=runtime,
    )  # fmt: skip
    assert requested.exit_code == 0, requested.output
    serial = json.loads(requested.stdout)["certificate"]["serial"]
    revoked = runner.invoke(
        root,
        ["cert", "revoke", *card, "--serial", serial, "--reason", "keyCompromise", "--json"],
        obj=runtime,
    )
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["status"] == "revoked"
