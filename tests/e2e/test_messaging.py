"""End-to-end messaging through HTTP (issue 3): doctor A seals for doctor B and for a
hospital by identifier; B renews and still opens the old message and a new one; after
B's revocation the depot no longer serves B's ETK and a seal to B is refused, saying so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from tests.conftest import without_faketime

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.messages import seal_for, unseal_file
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.revocation import revoke_certificate
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from conftest import Actors  # type: ignore[import-not-found]

DOCTOR_B = "85071212390"
RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)


def test_seal_renew_unseal_revoke(actors: Actors) -> None:
    env = actors.env
    actors.add_provider()  # doctor A, also the hospital's mandate holder
    actors.add_provider(DOCTOR_B, first_name="Zoë", last_name="Lefèvre")
    actors.add_institution()
    a_path = actors.keystore(actors.eid(), folder="a")
    b_eid = actors.eid(DOCTOR_B, first_name="Zoë", last_name="Lefèvre")
    b_old = actors.keystore(b_eid, folder="b")
    hospital_path = actors.keystore(actors.eid(), institution=actors.hospital, folder="hospital")
    a_store = read_keystore_file(a_path, actors.password)
    with env.client() as client:
        root = client.ca_certificates().root
        first, recipients = seal_for(
            client,
            a_store,
            [f"SSIN={DOCTOR_B}", actors.hospital],
            b"lab result 1",
            now=env.clock.now(),
        )
    assert [r.identifier for r in recipients] == [f"SSIN={DOCTOR_B}", actors.hospital]

    for path in (b_old, hospital_path, a_path):  # A reads its own copy too
        opened = unseal_file(path, actors.password, first, anchors=[root], now=env.clock.now())
        assert opened.content == b"lab result 1"
        assert opened.report.data.valid
        assert opened.report.trust.trusted, opened.report.trust.issues
        assert opened.report.trust.non_repudiation

    env.clock.set(RENEWAL_MOMENT)
    with env.client() as client:
        b_new = renew_certificate(client, b_old, actors.password, RENEWAL_MOMENT)
        second, _ = seal_for(
            client, a_store, [f"SSIN={DOCTOR_B}"], b"lab result 2", now=env.clock.now()
        )
    for message, text in ((first, b"lab result 1"), (second, b"lab result 2")):
        opened = unseal_file(b_new, actors.password, message, anchors=[root], now=env.clock.now())
        assert opened.content == text
    # The old keystore has no key for the message sealed after the renewal.
    old_view = unseal_file(b_old, actors.password, second, anchors=[root], now=env.clock.now())
    assert old_view.content is None

    with env.client() as client:
        revoke_certificate(client, b_new, actors.password, "keyCompromise")
        (lookup,) = client.etks([f"SSIN={DOCTOR_B}"])
        assert lookup.etk is None
        with pytest.raises(EhcertError) as refused:
            seal_for(client, a_store, [f"SSIN={DOCTOR_B}"], b"x", now=env.clock.now())
    assert refused.value.kind is ErrorKind.NOT_FOUND
    assert refused.value.detail == f"No ETK is published for SSIN={DOCTOR_B}."


def _ehcert(*args: str, at: dt.datetime | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI; with ``at``, its clock starts there (Debian ``faketime``), so it agrees
    with the platform's test clock about what is current. That wrapper alone sets the
    clock: the suite's own libfaketime (``make test-future``) is removed, else the wrapper
    warns on stderr, which the tests read."""
    clock = [] if at is None else ["faketime", "-f", at.strftime("@%Y-%m-%d %H:%M:%S")]
    environ = os.environ if at is None else without_faketime(os.environ)
    return subprocess.run(
        [*clock, sys.executable, "-m", "ehcert.cli.main", *args],
        env={**environ, "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seal_and_unseal_commands(actors: Actors, tmp_path: Path) -> None:
    env = actors.env
    actors.add_provider()
    actors.add_provider(DOCTOR_B, first_name="Zoë", last_name="Lefèvre")
    a_path = actors.keystore(actors.eid(), folder="a")
    b_path = actors.keystore(
        actors.eid(DOCTOR_B, first_name="Zoë", last_name="Lefèvre"), folder="b"
    )
    password = tmp_path / "password"
    password.write_text(actors.password + "\n")
    (tmp_path / "in.txt").write_bytes(b"discharge letter")

    sealed = _ehcert(
        "seal",
        "--platform",
        env.url,
        "--keystore",
        str(a_path),
        "--password-file",
        str(password),
        "--to",
        f"SSIN={DOCTOR_B}",
        "--cipher",
        "aes256",
        "--json",
        str(tmp_path / "in.txt"),
        str(tmp_path / "msg.p7"),
        at=env.clock.now(),
    )
    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout)["recipients"][0]["identifier"] == f"SSIN={DOCTOR_B}"

    opened = _ehcert(
        "unseal",
        "--platform",
        env.url,
        "--keystore",
        str(b_path),
        "--password-file",
        str(password),
        "--report-json",
        str(tmp_path / "report.json"),
        str(tmp_path / "msg.p7"),
        str(tmp_path / "out.txt"),
        at=env.clock.now(),
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "out.txt").read_bytes() == b"discharge letter"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["data"]["valid"] is True
    assert report["trust"]["trusted"] is True, report["trust"]["issues"]
    assert report["data"]["content_encryption"].lower().startswith("aes")

    refused = _ehcert(
        "seal",
        "--platform",
        env.url,
        "--keystore",
        str(a_path),
        "--password-file",
        str(password),
        "--to",
        "SSIN=92030404542",
        str(tmp_path / "in.txt"),
        str(tmp_path / "never.p7"),
        at=env.clock.now(),
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == "No ETK is published for SSIN=92030404542."
    assert not (tmp_path / "never.p7").exists()

    garbage = tmp_path / "garbage.p7"
    garbage.write_bytes(b"not a CMS message at all")
    broken = _ehcert(
        "unseal",
        "--keystore",
        str(b_path),
        "--password-file",
        str(password),
        str(garbage),
        str(tmp_path / "x.txt"),
    )
    assert broken.returncode == 1
    assert len(broken.stderr.strip().splitlines()) == 1
    assert "Traceback" not in broken.stderr


def test_unseal_a_message_from_outside_with_a_fixture_keystore(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "etee"
    password = tmp_path / "password"
    password.write_text("test\n")
    opened = _ehcert(
        "unseal",
        "--keystore",
        str(fixtures / "bob" / "bobs_private_key_store.p12"),
        "--password-file",
        str(password),
        "--json",
        str(fixtures / "msg" / "triple_wrapped_correct.msg"),
        str(tmp_path / "out"),
    )
    assert opened.returncode == 0, opened.stderr
    answer = json.loads(opened.stdout)
    assert answer["report"]["data"]["valid"] is True
    assert answer["report"]["trust"]["trusted"] is False  # no anchor configured
    assert (tmp_path / "out").stat().st_size == answer["bytes"] > 0


def test_a_signer_named_but_not_carried_opens_with_sender_cert(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "etee"
    password = tmp_path / "password"
    password.write_text("test\n")
    alice = read_keystore_file(fixtures / "alice" / "alices_private_key_store.p12", "test")
    sender = tmp_path / "alice.pem"
    sender.write_bytes(alice.authentication().certificate.public_bytes(serialization.Encoding.PEM))
    message = str(fixtures / "msg" / "triple_wrapped_without_outer_cert.msg")
    keystore = str(fixtures / "bob" / "bobs_private_key_store.p12")
    report = tmp_path / "report.json"

    refused = _ehcert(
        "unseal", "--keystore", keystore, "--password-file", str(password),
        "--report-json", str(report), message, str(tmp_path / "out"),
    )  # fmt: skip
    assert refused.returncode == 1
    assert "--sender-cert" in refused.stderr
    assert json.loads(report.read_text())["data"]["valid"] is False  # a report all the same

    opened = _ehcert(
        "unseal", "--keystore", keystore, "--password-file", str(password),
        "--sender-cert", str(sender), "--json", message, str(tmp_path / "out"),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    answer = json.loads(opened.stdout)
    assert answer["report"]["data"]["valid"] is True
    assert "Alice" in answer["report"]["trust"]["sender_subject"]
    assert (tmp_path / "out").read_bytes().startswith(b"This is a secret message from Alice")


def test_allow_sha1_opens_an_old_sha1_message_with_a_warning(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "etee"
    password = tmp_path / "password"
    password.write_text("test\n")
    args = [
        "unseal", "--keystore", str(fixtures / "bob" / "bobs_private_key_store.p12"),
        "--password-file", str(password), "--offline",
    ]  # fmt: skip
    message = str(fixtures / "msg" / "openssl_outer_signed.msg")
    refused = _ehcert(*args, message, str(tmp_path / "out"))
    assert refused.returncode == 1
    assert "SHA-1 is not allowed" in refused.stderr and "--allow-sha1" in refused.stderr
    assert not (tmp_path / "out").exists()

    opened = _ehcert(*args, "--allow-sha1", "--json", message, str(tmp_path / "out"))
    assert opened.returncode == 0, opened.stderr
    report = json.loads(opened.stdout)["report"]
    assert report["data"]["valid"] is True
    assert "sha1_signature" in {issue["code"] for issue in report["trust"]["issues"]}
    assert report["trust"]["trusted"] is False
