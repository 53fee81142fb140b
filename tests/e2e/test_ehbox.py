"""The eHealthBox over real HTTP, on SQLite and PostgreSQL: two doctors and a hospital.

Keystores come from the real request flow (test eIDs, the Certificate Manager, ETKs
published); every message is sealed by the SDK (``client.ehbox``) part by part for the
recipients' ETKs and the sender's own, sent holder-of-key with an STS token, and read
back with both verdicts per part. The platform is the shared ``env`` platform; a test
that needs a small quota or a long retention sets the mailbox's limits and puts them
back.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update
from typer.testing import CliRunner

from ehcert.cli.main import app
from ehcert.cli.options import CertRuntime
from ehcert.client.ehbox import EhboxClient, RecipientsOutOfOffice
from ehcert.client.ehbox_messages import Annex, Draft
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.platform import PlatformClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.renewal import renew_certificate
from ehcert.pki.jws import create_jws
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.keystore_entries import Keystore
from ehcert.platform.schedule import Schedule
from ehcert.store.audit import AuditLog
from ehcert.store.models import EhboxChunkRow, EhboxMessageRow, EhboxPartRow
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from conftest import Actors, RunningPlatform  # type: ignore[import-not-found]

DOCTOR_A = "79021802145"
DOCTOR_B = example_ssin(7)
HOSPITAL = "NIHII-HOSPITAL=71000436"
BOX_A = f"SSIN={DOCTOR_A}:doctor"
BOX_B = f"SSIN={DOCTOR_B}:doctor"


@dataclass
class Mail:
    env: RunningPlatform
    actors: Actors
    paths: dict[str, Path]
    clients: dict[str, EhboxClient]

    def keystore(self, who: str) -> Keystore:
        return read_keystore_file(self.paths[who], self.actors.password)

    def client(self, who: str) -> EhboxClient:
        return self.clients[who]

    def reopen(self, who: str, path: Path) -> EhboxClient:
        self.clients[who].close()
        self.paths[who] = path
        self.clients[who] = EhboxClient(self.env.url, self.keystore(who), clock=self.env.clock)
        return self.clients[who]


@pytest.fixture
def mail(env: RunningPlatform, actors: Actors) -> Iterator[Mail]:
    actors.add_provider(DOCTOR_A, first_name="Bryan", last_name="Brouckaert")
    actors.add_provider(DOCTOR_B, first_name="Ada", last_name="Peeters")
    actors.add_institution(HOSPITAL, mandate_holder=DOCTOR_A)
    eid_a = actors.eid(DOCTOR_A)
    eid_b = actors.eid(DOCTOR_B, first_name="Ada", last_name="Peeters")
    paths = {
        "a": actors.pooled_keystore(eid_a, 0, "a"),
        "b": actors.pooled_keystore(eid_b, 1, "b"),
        "hospital": actors.pooled_keystore(eid_a, 2, "hospital", institution=HOSPITAL),
    }
    clients = {
        who: EhboxClient(env.url, read_keystore_file(path, actors.password), clock=env.clock)
        for who, path in paths.items()
    }
    limits = env.platform.ehbox.limits
    yield Mail(env, actors, paths, clients)
    env.platform.ehbox.limits = limits
    for client in clients.values():
        client.close()


def _letter(*to: str, **changes: Any) -> Draft:
    draft = Draft(
        recipients=list(to),
        title="Discharge letter",
        content=b"Patient discharged in good health.",
        download_file_name="letter.txt",
        annexes=[Annex("Lab results", b"\x89PNG fake scan", "scan.png", "image/png")],
        free_text="Please call me about the follow-up.",
    )
    return replace(draft, **changes)


def test_two_doctors_and_a_hospital_exchange_messages_with_annexes(mail: Mail) -> None:
    a, b, hospital = mail.client("a"), mail.client("b"), mail.client("hospital")
    sent = a.send(_letter(BOX_B, copies=[HOSPITAL]))
    assert sent["recipients"] == [BOX_B, HOSPITAL]
    assert len(sent["message_id"]) == 13

    inbox = b.messages("INBOX")
    assert inbox["total"] == 1
    (listed,) = inbox["messages"]
    assert listed["message_id"] == sent["message_id"]
    assert listed["sender"] == {
        "box": BOX_A,
        "name": "Bryan Brouckaert",
        "person_in_organisation": None,
    }
    assert listed["content_info"]["title"] == "Discharge letter"
    assert listed["content_info"]["has_annex"] is True
    assert listed["message_info"]["expiration_date"] == "2027-03-02"

    for reader, folder in ((b, "INBOX"), (hospital, "INBOX"), (a, "SENTBOX")):
        opened = reader.get(sent["message_id"], folder=folder)
        assert opened.all_valid, [p.to_dict() for p in opened.parts]
        assert opened.all_trusted, [p.to_dict() for p in opened.parts]
        assert opened.part("document").content == b"Patient discharged in good health."
        assert opened.text("annex/0/title") == "Lab results"
        assert opened.part("annex/0/content").content == b"\x89PNG fake scan"
        assert opened.text("free-text") == "Please call me about the follow-up."
        report = opened.part("document").report
        assert report is not None
        assert "79021802145" in (report.trust.sender_subject or "")

    # The hospital answers from its own box with a table; the doctor reads it.
    reply = hospital.send(
        Draft(
            recipients=[BOX_A],
            title="Re: Discharge letter",
            content=b"Received, thank you.",
            table=[("Creatinine", "1.1 mg/dL"), ("CRP", "3 mg/L")],
            table_title="Labs",
            patient_ssin=DOCTOR_B,
        )
    )
    opened = a.get(reply["message_id"])
    assert opened.all_valid
    assert opened.sender["box"] == HOSPITAL
    assert opened.sender["name"] == "AZ Sint-Jan Brugge"
    assert opened.text("table/1/right") == "3 mg/L"
    assert opened.text("patient") == DOCTOR_B
    # The doctor holds a mandate for the hospital: both boxes are listed at once.
    everything = a.messages("SENTBOX", all_boxes=True)
    assert {m["box"] for m in everything["messages"]} == {BOX_A, HOSPITAL}
    info = a.box_info()
    assert info["boxes"] == [BOX_A, HOSPITAL]
    assert info["messages_waiting"] == 0  # the reply was read


def test_receipts_are_recorded_once_and_listed_per_recipient(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    clock = mail.env.clock
    sent = a.send(
        _letter(BOX_B, copies=[HOSPITAL], receipts=frozenset({"publication", "received", "read"}))
    )
    status = a.acknowledgments(sent["message_id"])
    assert status["total"] == 2
    rows = {row["recipient"]: row for row in status["rows"]}
    assert rows[BOX_B]["published"] == clock.now().isoformat()
    assert rows[BOX_B]["received"] is None
    assert rows[BOX_B]["read"] is None

    clock.advance(dt.timedelta(minutes=5))
    listed_at = clock.now()
    b.messages("INBOX")
    clock.advance(dt.timedelta(minutes=5))
    read_at = clock.now()
    b.get(sent["message_id"])
    clock.advance(dt.timedelta(minutes=5))
    b.messages("INBOX")
    b.get(sent["message_id"])
    rows = {row["recipient"]: row for row in a.acknowledgments(sent["message_id"])["rows"]}
    assert rows[BOX_B]["received"] == listed_at.isoformat()
    assert rows[BOX_B]["read"] == read_at.isoformat()
    assert rows[HOSPITAL]["received"] is None
    assert rows[HOSPITAL]["copy"] is True
    with pytest.raises(EhcertError) as caught:
        b.acknowledgments(sent["message_id"])
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert b.box_info()["messages_waiting"] == 0


def test_paging_over_250_messages(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    prepared = a.prepare(Draft(recipients=[BOX_B], title="Note", content=b"1 KB " * 200))
    ids = [a.publish(prepared)["message_id"] for _ in range(250)]
    seen: list[str] = []
    for start, end in ((1, 100), (101, 200), (201, 300)):
        page = b.messages("INBOX", start=start, end=end)
        assert page["total"] == 250
        seen += [m["message_id"] for m in page["messages"]]
    assert seen == list(reversed(ids))
    with pytest.raises(EhcertError, match="at most 100"):
        b.messages("INBOX", start=1, end=101)


def test_a_full_box_refuses_the_send_naming_it(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    a.send(_letter(BOX_B))
    used = b.box_info()["current_size"]
    limits = mail.env.platform.ehbox.limits
    mail.env.platform.ehbox.limits = replace(limits, max_box_bytes=used * 3 // 2)
    with pytest.raises(EhcertError) as caught:
        a.send(_letter(BOX_B, copies=[HOSPITAL]))
    assert caught.value.kind is ErrorKind.PAYLOAD_TOO_LARGE
    assert BOX_B in caught.value.detail
    assert BOX_A in caught.value.detail  # the sender's box holds the sent copy too
    assert HOSPITAL not in caught.value.detail
    assert b.messages("INBOX")["total"] == 1
    assert mail.client("hospital").messages("INBOX")["total"] == 0
    refusals = [r for r in mail.actors.audit_records() if r.action == "refused"]
    refused = json.loads(refusals[-1].detail)
    assert refused["action"] == "ehbox-sent"
    assert BOX_B in refused["reason"]


def test_out_of_office_answer_then_acknowledged_resend(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    today = mail.env.clock.now().date()
    absence = b.set_out_of_office(
        str(today - dt.timedelta(days=1)), str(today + dt.timedelta(days=6)), [HOSPITAL]
    )
    assert b.out_of_office() == [absence]
    draft = _letter(BOX_B, copies=[HOSPITAL])
    with pytest.raises(RecipientsOutOfOffice) as caught:
        a.send(draft)
    assert caught.value.recipients == [
        {
            "box": BOX_B,
            "absent_from": str(today - dt.timedelta(days=1)),
            "absent_to": str(today + dt.timedelta(days=6)),
            "substitutes": [HOSPITAL],
        }
    ]
    assert b.messages("INBOX")["total"] == 0
    assert mail.client("hospital").messages("INBOX")["total"] == 0
    sent = a.send(draft, ooo_acknowledged=True)
    assert b.messages("INBOX")["messages"][0]["message_id"] == sent["message_id"]
    assert b.clear_out_of_office([absence["ooo_id"]]) == [absence["ooo_id"]]
    assert b.out_of_office() == []
    a.send(draft)  # nobody is away any more


def test_move_delete_and_bins(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    first = a.send(_letter(BOX_B))["message_id"]
    second = a.send(_letter(BOX_B))["message_id"]
    assert b.delete([first], source="INBOX") == [first]
    assert [m["message_id"] for m in b.messages("BININBOX")["messages"]] == [first]
    assert b.move([first], source="BININBOX", destination="INBOX") == [first]
    with pytest.raises(EhcertError) as caught:
        b.move([first], source="INBOX", destination="SENTBOX")
    assert caught.value.field == "destination"
    with pytest.raises(EhcertError) as caught:
        b.delete([first, "Z" * 13], source="INBOX")
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert "Z" * 13 in caught.value.detail
    assert b.messages("INBOX")["total"] == 2  # all or nothing
    b.delete([first, second], source="INBOX")
    b.delete([first], source="BININBOX")  # final
    assert b.messages("BININBOX")["total"] == 1
    assert a.get(first, folder="SENTBOX").all_valid  # the sender's copy stays
    assert a.history(first, folder="SENTBOX") == [first]


def test_a_tampered_stored_part_is_detected_on_read(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    sent = a.send(_letter(BOX_B))
    with mail.env.platform.database.session() as session:
        message = session.scalars(
            select(EhboxMessageRow).where(EhboxMessageRow.message_id == sent["message_id"])
        ).one()
        part = session.scalars(
            select(EhboxPartRow).where(
                EhboxPartRow.message_pk == message.id, EhboxPartRow.name == "document"
            )
        ).one()
        chunk = session.scalars(
            select(EhboxChunkRow).where(EhboxChunkRow.part_pk == part.id, EhboxChunkRow.seq == 0)
        ).one()
        data = bytearray(chunk.data)
        data[-40] ^= 0x01
        session.execute(
            update(EhboxChunkRow)
            .where(EhboxChunkRow.part_pk == part.id, EhboxChunkRow.seq == 0)
            .values(data=bytes(data))
        )
    opened = b.get(sent["message_id"])
    document = opened.part("document")
    assert document.digest_matches is False
    assert document.data_valid is False
    assert document.content is None
    assert opened.part("annex/0/content").data_valid  # the other parts are intact


def test_a_revoked_recipient_cannot_be_sent_to_and_a_revoked_sender_cannot_send(
    mail: Mail,
) -> None:
    a, b = mail.client("a"), mail.client("b")
    prepared_for_b = a.prepare(_letter(BOX_B))
    b.box_info()  # B holds a token from before the revocation
    with PlatformClient(mail.env.url) as platform:
        entry = mail.keystore("b").authentication()
        serial = format(entry.certificate.serial_number, "x")
        platform.revoke(KeyEntryRequestSigner(entry), serial, "keyCompromise")
    with pytest.raises(EhcertError) as caught:
        a.send(_letter(BOX_B))  # the SDK finds no ETK to seal to
    assert caught.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(EhcertError) as caught:
        a.publish(prepared_for_b)  # sealed before the revocation: the box refuses it
    assert BOX_B in caught.value.detail
    assert "ETK" in caught.value.detail
    # The token B holds is still within its validity, but the box checks the key too.
    with pytest.raises(EhcertError) as caught:
        b.messages("INBOX")
    assert caught.value.kind is ErrorKind.REVOKED

    prepared = a.prepare(_letter(HOSPITAL))
    with PlatformClient(mail.env.url) as platform:
        entry = mail.keystore("a").authentication()
        platform.revoke(
            KeyEntryRequestSigner(entry),
            format(entry.certificate.serial_number, "x"),
            "keyCompromise",
        )
    with pytest.raises(EhcertError) as caught:
        a.publish(prepared)
    assert caught.value.kind is ErrorKind.REVOKED
    assert mail.client("hospital").messages("INBOX")["total"] == 0


def test_the_box_holds_no_plaintext_of_an_encryptable_part(
    mail: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "MARKER-" + secrets.token_hex(12)
    a, b = mail.client("a"), mail.client("b")
    draft = _letter(
        BOX_B,
        content=f"document {marker}".encode(),
        free_text=f"free {marker}",
        annexes=[Annex(f"title {marker}", f"annex {marker}".encode(), "a.txt", "text/plain")],
    )
    sent = a.send(draft)
    assert marker in (b.get(sent["message_id"]).text("document") or "")
    needles = [marker.encode(), marker.encode("utf-16-le"), base64.b64encode(marker.encode())]
    for path in mail.env.data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(n in content for n in needles), path
    assert marker not in caplog.text
    with mail.env.platform.database.session() as session:
        stored = [bytes(c) for c in session.scalars(select(EhboxChunkRow.data))]
        stored += [m.encode() for m in session.scalars(select(EhboxMessageRow.metadata_json))]
        records = AuditLog(session).records(limit=10_000)
    assert stored
    assert not any(marker.encode() in blob for blob in stored)
    assert records
    assert not any(marker in r.detail for r in records)


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_a_stored_part_opens_with_openssl_cms_layer_by_layer(mail: Mail, tmp_path: Path) -> None:
    a = mail.client("a")
    sent = a.send(_letter(BOX_B, content=b"read me with openssl"))
    head, blobs = mail.client("b").fetch(sent["message_id"])
    assert head["parts"][0]["name"] == "document"
    (tmp_path / "part.der").write_bytes(blobs[0])
    keystore = mail.keystore("b")
    encryption = keystore.encryption_keys()[0]
    (tmp_path / "key.pem").write_bytes(
        encryption.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "recipient.pem").write_bytes(encryption.certificate.public_bytes(pem))
    sender = mail.keystore("a").authentication().certificate
    (tmp_path / "sender.pem").write_bytes(sender.public_bytes(pem))
    part, envelope, inner, out = (
        str(tmp_path / n) for n in ("part.der", "env.der", "inner.der", "out")
    )
    _openssl("cms", "-verify", "-inform", "DER", "-in", part, "-noverify", "-out", envelope)
    _openssl(
        "cms", "-decrypt", "-inform", "DER", "-in", envelope,
        "-inkey", str(tmp_path / "key.pem"),
        "-recip", str(tmp_path / "recipient.pem"), "-out", inner,
    )  # fmt: skip
    _openssl(
        "cms", "-verify", "-inform", "DER", "-in", inner, "-noverify",
        "-certfile", str(tmp_path / "sender.pem"), "-out", out,
    )  # fmt: skip
    assert Path(out).read_bytes() == b"read me with openssl"


def test_a_renewed_recipient_reads_old_and_new_mail(mail: Mail) -> None:
    a = mail.client("a")
    clock = mail.env.clock
    limits = mail.env.platform.ehbox.limits
    mail.env.platform.ehbox.limits = replace(limits, retention=dt.timedelta(days=2000))
    old = a.send(_letter(BOX_B, content=b"before the renewal"))["message_id"]
    expiry = mail.keystore("b").authentication().certificate.not_valid_after_utc
    clock.set(expiry - dt.timedelta(days=30))
    with PlatformClient(mail.env.url) as platform:
        renewed = renew_certificate(platform, mail.paths["b"], mail.actors.password, clock.now())
    b = mail.reopen("b", renewed)
    new = a.send(_letter(BOX_B, content=b"after the renewal"))["message_id"]
    assert b.get(new).part("document").content == b"after the renewal"
    old_message = b.get(old)
    assert old_message.part("document").content == b"before the renewal"
    assert old_message.all_valid


def test_a_token_is_accepted_only_with_its_own_key(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    url = f"{mail.env.url}/ehbox/v3/box-info"
    stolen = base64.b64encode(a.sts.token().xml).decode()
    for payload, expected in (
        ({"assertion": stolen}, "another key"),
        ({}, "no STS assertion"),
        ({"assertion": base64.b64encode(b"<x/>").decode()}, "not a SAML"),
    ):
        jws = create_jws(
            json.dumps(payload).encode(),
            url=url,
            nonce=b._nonce(),
            chain=list(b.signer.chain),
            sign=b.signer.sign,
        )
        response = httpx.post(
            url, content=json.dumps(jws), headers={"Content-Type": "application/jose+json"}
        )
        assert response.status_code == 401, response.text
        assert expected in response.json()["detail"]
        assert response.json()["field"] == "assertion"


def test_expired_messages_are_purged_and_audited(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    sent = a.send(_letter(BOX_B))
    platform = mail.env.platform
    assert platform.ehbox.purge(mail.env.clock.now()) == 0
    assert platform.ehbox.purge(mail.env.clock.now() + platform.ehbox.limits.retention) == 1
    assert b.messages("INBOX")["total"] == 0
    expired = [r for r in mail.actors.audit_records() if r.action == "ehbox-expired"]
    assert [r.subject for r in expired] == [sent["message_id"]]


def test_a_scheduled_job_purges_expired_messages_by_the_platform_clock(mail: Mail) -> None:
    """Nobody sends, yet expired mail goes: the platform's schedule runs the purge every
    ``ehbox_purge_interval_minutes`` of its clock, here the test's ``FixedClock``."""
    a = mail.client("a")
    platform, clock = mail.env.platform, mail.env.clock
    start = clock.now()
    first = a.send(_letter(BOX_B))["message_id"]
    # The platform's own job, in a schedule of its own (the platform's keeps its turns
    # across the tests of the session).
    schedule = Schedule(clock, platform.schedule.jobs, tick_seconds=0.05)
    assert [job.name for job in schedule.jobs] == ["ehbox-purge"]
    assert schedule.run_due() == {"ehbox-purge": 0}  # due at start; nothing expired
    assert schedule.next_due("ehbox-purge") == clock.now() + dt.timedelta(minutes=60)

    expiry = clock.now() + platform.ehbox.limits.retention
    clock.set(expiry - dt.timedelta(minutes=1))
    assert schedule.run_due() == {"ehbox-purge": 0}  # not yet expired
    clock.set(expiry)
    assert schedule.run_due() == {}  # expired, but the job's next turn is an hour away
    clock.advance(dt.timedelta(minutes=60))
    assert schedule.run_due() == {"ehbox-purge": 1}

    clock.set(start)
    second = a.send(_letter(BOX_B))["message_id"]
    turn = schedule.next_due("ehbox-purge")
    assert turn is not None and turn > start + platform.ehbox.limits.retention
    clock.set(turn)
    with schedule.running():  # the background thread, as ``ehcert serve`` runs it
        deadline = time.monotonic() + 10
        while _stored_messages(mail) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _stored_messages(mail) == []
    expired = [r.subject for r in mail.actors.audit_records() if r.action == "ehbox-expired"]
    assert expired == [first, second]


def _stored_messages(mail: Mail) -> list[str]:
    with mail.env.platform.unit_of_work() as session:
        return list(session.scalars(select(EhboxMessageRow.message_id)))


def test_the_cli_sends_lists_reads_and_tracks_a_message(mail: Mail, tmp_path: Path) -> None:
    runtime = CertRuntime(clock=mail.env.clock)
    password = tmp_path / "password"
    password.write_text(mail.actors.password + "\n")

    def run(who: str, *arguments: str, code: int = 0) -> Any:
        common = ["--platform", mail.env.url, "--keystore", str(mail.paths[who])]
        common += ["--password-file", str(password)]
        result = CliRunner().invoke(app, ["ehbox", *arguments, *common], obj=runtime)
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if "--json" in arguments and code == 0 else result

    letter = tmp_path / "letter.txt"
    letter.write_text("Dear colleague, see the scan.")
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG scan")
    sent = run(
        "a", "send", str(letter), "--to", f"SSIN={DOCTOR_B}", "--cc", HOSPITAL,
        "--title", "Referral", "--annex", str(scan), "--receipt", "read",
        "--important", "--json",
    )  # fmt: skip
    listing = run("b", "list", "--folder", "INBOX", "--json")
    assert [m["message_id"] for m in listing["messages"]] == [sent["message_id"]]
    assert listing["messages"][0]["content_specification"]["important"] is True
    assert "Referral" in run("b", "list").stdout

    out = tmp_path / "out"
    got = run("b", "get", sent["message_id"], "--out", str(out), "--json")
    assert got["sender"]["box"] == BOX_A
    assert all(p["data_valid"] and p["trusted"] for p in got["parts"])
    assert (out / "letter.txt").read_text() == "Dear colleague, see the scan."
    assert (out / "scan.png").read_bytes() == b"\x89PNG scan"
    status = run("a", "ack-status", sent["message_id"], "--json")
    rows = {r["recipient"]: r for r in status["rows"]}
    assert rows[BOX_B]["read"] == mail.env.clock.now().isoformat()
    assert rows[HOSPITAL]["read"] is None

    info = run("b", "info", "--json")
    assert info["box"] == BOX_B
    assert info["messages_waiting"] == 0
    period = run("b", "ooo", "set", "--from", "2026-03-01", "--until", "2026-03-31", "--json")
    refused = run("a", "send", str(letter), "--to", BOX_B, "--title", "Again", code=1)
    assert "out of office" in refused.output
    assert "--ooo-acknowledged" in refused.output
    run("a", "send", str(letter), "--to", BOX_B, "--title", "Again", "--ooo-acknowledged")
    assert run("b", "ooo", "list", "--json")["ooo"][0]["ooo_id"] == period["ooo_id"]
    run("b", "ooo", "clear", period["ooo_id"])
    run("b", "delete", sent["message_id"], "--folder", "INBOX")
    run("b", "move", sent["message_id"], "--from", "BININBOX", "--to", "INBOX")
    missing = run("b", "get", "Z" * 13, "--out", str(out), code=1)
    assert "no message" in missing.output
    run("b", "list", "--folder", "TRASH", code=1)
    run("a", "send", str(letter), "--title", "Nobody", code=2)
    run("a", "send", str(letter), "--to", BOX_B, "--title", "x", "--receipt", "never", code=2)


def test_the_box_refuses_a_send_naming_every_recipient_and_part_at_fault(mail: Mail) -> None:
    a, b = mail.client("a"), mail.client("b")
    prepared = a.prepare(_letter(BOX_B))
    unknown = dict(prepared.publication)
    unknown["destinations"] = [
        {"box": BOX_B},
        {"box": f"SSIN={example_ssin(99)}"},
        {"box": "NIHII-HOSPITAL=71000999"},
        {"box": f"SSIN={DOCTOR_A}:nurse"},
    ]
    with pytest.raises(EhcertError) as caught:
        a.publish(replace(prepared, publication=unknown))
    detail = caught.value.detail
    assert caught.value.field == "destinations"
    assert f"SSIN={example_ssin(99)} is not a care provider" in detail
    assert "NIHII-HOSPITAL=71000999 is not an institution" in detail
    assert "has no box as nurse" in detail
    assert BOX_B + " " not in detail  # the valid recipient is not blamed

    parts = [dict(p) for p in prepared.publication["parts"]]
    parts[1]["sha256"] = "0" * 64
    with pytest.raises(EhcertError) as caught:
        a.publish(replace(prepared, publication={**prepared.publication, "parts": parts}))
    assert caught.value.field == "parts[1].sha256"
    assert parts[1]["name"] in caught.value.detail
    parts = [dict(p) for p in prepared.publication["parts"]]
    parts[0]["size"] += 1
    with pytest.raises(EhcertError) as caught:
        a.publish(replace(prepared, publication={**prepared.publication, "parts": parts}))
    assert caught.value.kind is ErrorKind.MALFORMED
    too_long = {
        **prepared.publication,
        "document": {**prepared.publication["document"], "title": "t" * 401},
    }
    with pytest.raises(EhcertError) as caught:
        a.publish(replace(prepared, publication=too_long))
    assert caught.value.field == "document.title"
    assert b.messages("INBOX")["total"] == 0
    assert a.messages("SENTBOX")["total"] == 0
    a.publish(prepared)  # the untouched message still goes through
    assert b.messages("INBOX")["total"] == 1
