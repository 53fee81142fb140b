"""A care provider known by a BIS number gets a certificate like anyone with an SSIN.

Registered with ``ehcert admin provider add --ssin <BIS>``, given a test eID with
``ehcert admin eid issue``, then ``ehcert cert request`` against the served platform;
the certificate's DN, the ETK lookup and the STS token name the BIS number. Both month
offsets (+20 sex unknown, +40 sex known), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner, Result

from ehcert.cli.main import app
from ehcert.cli.options import CertRuntime
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.sts import StsClient
from ehcert.core.identifiers import Ssin, SsinKind
from ehcert.core.names import parse_ehealth_subject
from ehcert.pki.keystore import read_keystore_file

from .conftest import T0, RunningPlatform

pytestmark = pytest.mark.slow

BIS_NUMBERS = {
    SsinKind.BIS_SEX_UNKNOWN: "79221802188",  # born February 1979, sex unknown: 02 + 20
    SsinKind.BIS_SEX_KNOWN: "01410100115",  # born January 2001, sex known: 01 + 40
}


def _admin(env: RunningPlatform, *args: str) -> Result:
    common = ["--data-dir", str(env.data_dir), "--db", env.platform.settings.database_url]
    with time_machine.travel(T0, tick=False):
        return CliRunner().invoke(app, ["admin", *args, *common])


@pytest.mark.parametrize("kind", list(BIS_NUMBERS))
def test_a_provider_with_a_bis_number_gets_a_certificate_a_published_etk_and_a_token(
    env: RunningPlatform, tmp_path: Path, kind: SsinKind
) -> None:
    bis = BIS_NUMBERS[kind]
    assert Ssin(bis).kind is kind
    added = _admin(
        env, "provider", "add", "--ssin", bis, "--profession", "doctor",
        "--first-name", "Ana", "--last-name", "Pereira", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    pin = tmp_path / "pin.txt"
    pin.write_text("1234\n")
    eid = tmp_path / "eid.p12"
    issued = _admin(env, "eid", "issue", "--ssin", bis, "--out", str(eid), "--pin-file", str(pin))
    assert issued.exit_code == 0, issued.output

    password = tmp_path / "password.txt"
    password.write_text("a long keystore password\n")
    runtime = CertRuntime(clock=env.clock)
    requested = CliRunner().invoke(
        app,
        ["cert", "request", "--platform", env.url, "--eid", str(eid), "--pin-file", str(pin),
         "--out-dir", str(tmp_path / "keystores"), "--password-file", str(password), "--json"],
        obj=runtime,
    )  # fmt: skip
    assert requested.exit_code == 0, requested.output
    keystore = Path(json.loads(requested.stdout)["keystore"])
    entry = read_keystore_file(keystore, "a long keystore password").authentication()
    assert parse_ehealth_subject(entry.certificate.subject).holder_text == f"SSIN={bis}"

    looked_up = CliRunner().invoke(
        app, ["etk", "get", f"SSIN={bis}", "--platform", env.url, "--json"], obj=runtime
    )
    assert looked_up.exit_code == 0, looked_up.output
    assert f"SSIN={bis}" in json.loads(looked_up.stdout)["subject"]

    with StsClient(env.url, KeyEntryRequestSigner(entry), clock=env.clock) as sts:
        token = sts.request_token((), None)
    assert bis in {str(attribute.value) for attribute in token.attributes}


def test_a_bis_number_with_a_month_of_neither_kind_is_refused_by_the_registry(
    env: RunningPlatform,
) -> None:
    refused = _admin(
        env, "provider", "add", "--ssin", "79621802177", "--profession", "doctor",
        "--first-name", "Ana", "--last-name", "Pereira",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "month 62, which is neither a birth month" in refused.stderr
