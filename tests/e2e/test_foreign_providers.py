"""The hybrid method end to end: a care provider without a Belgian eID.

An officer of a registration office (their own eHealth certificate, requested with
their eID) records the identity document of a provider known by a BIS number and
issues a digital key (``ehcert office register``: QR code as PNG and on the terminal);
the provider requests a certificate with it (``ehcert cert request --digital-key``),
gets an STS token and opens a message sealed for them. A replayed code, a lockout and a
revoked key are refused with the sentence a person needs. TOTP time steps come from
the platform's FixedClock, never from sleeping. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pyotp
import pytest
from typer.testing import CliRunner, Result

from ehcert.cli.main import app
from ehcert.cli.options import CertRuntime
from ehcert.client.keys import KeyEntryRequestSigner, build_csr, generate_rsa_key
from ehcert.client.platform import DigitalKeyLogin
from ehcert.client.sts import StsClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Ssin, SsinKind
from ehcert.core.names import parse_ehealth_subject
from ehcert.pki.keystore import read_keystore_file
from ehcert.registry.offices import OfficeRegistry

from .conftest import T0, Actors, RunningPlatform

pytestmark = pytest.mark.slow

OFFICER = "85071212390"
BIS_NUMBERS = {
    SsinKind.BIS_SEX_UNKNOWN: "79221802188",  # born February 1979, sex unknown: 02 + 20
    SsinKind.BIS_SEX_KNOWN: "01410100115",  # born January 2001, sex known: 01 + 40
}
FOREIGN = BIS_NUMBERS[SsinKind.BIS_SEX_KNOWN]
USERNAME = "ana.pereira"
KEY_PASSWORD = "uma palavra-passe comprida"
STEP = dt.timedelta(seconds=30)


@dataclass
class Desk:
    """The office, its officer's keystore and the files the commands read (the
    provider's keys are EC P-256: quick to make, and the hybrid path is not RSA-only)."""

    env: RunningPlatform
    directory: Path
    officer_keystore: Path
    keystore_password: Path

    @property
    def runtime(self) -> CertRuntime:
        return CertRuntime(clock=self.env.clock)

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--platform", self.env.url], obj=self.runtime)

    def secret(self, name: str, value: str) -> Path:
        path = self.directory / name
        path.write_text(value + "\n")
        return path

    def register(self, ssin: str = FOREIGN, username: str = USERNAME, *more: str) -> Result:
        return self.run(
            "office", "register", "--keystore", str(self.officer_keystore),
            "--password-file", str(self.keystore_password), "--ssin", ssin,
            "--document-type", "passport", "--document-number", "cb1234567",
            "--issuing-country", "pt", "--document-expiry", "2031-05-01",
            "--username", username,
            "--new-password-file", str(self.secret("key-password", KEY_PASSWORD)), *more,
        )  # fmt: skip

    def code(self, totp: pyotp.TOTP) -> Path:
        return self.secret("code", totp.at(self.env.clock.now()))

    def login_options(self, totp: pyotp.TOTP, username: str = USERNAME) -> list[str]:
        return [
            "--digital-key", username,
            "--digital-key-password-file", str(self.secret("key-password", KEY_PASSWORD)),
            "--code-file", str(self.code(totp)),
        ]  # fmt: skip

    def request(self, totp: pyotp.TOTP, folder: str = "keystores") -> Result:
        return self.run(
            "cert", "request", *self.login_options(totp), "--out-dir",
            str(self.directory / folder), "--password-file", str(self.keystore_password),
            "--key-type", "ec-p256", "--json",
        )  # fmt: skip


@pytest.fixture
def desk(env: RunningPlatform, actors: Actors, tmp_path: Path) -> Desk:
    """An office in Ixelles with its officer's certificate; the foreign doctors listed
    in the registry of care providers (their professional registration)."""
    now = env.clock.now()
    offices = OfficeRegistry(env.platform.database)
    offices.add_office("IXELLES", "Commune d'Ixelles", "municipality", now=now)
    offices.add_officer(OFFICER, "Marie", "Dubois", "IXELLES", now=now)
    officer_keystore = actors.keystore(
        actors.eid(OFFICER, first_name="Marie", last_name="Dubois"), folder="officer"
    )
    for number in BIS_NUMBERS.values():
        actors.add_provider(number, first_name="Ana", last_name="Pereira")
    password = tmp_path / "keystore-password"
    password.write_text(actors.password + "\n")
    return Desk(env, tmp_path, officer_keystore, password)


def _enrolled(registered: Result) -> pyotp.TOTP:
    assert registered.exit_code == 0, registered.output
    totp = pyotp.parse_uri(json.loads(registered.stdout)["provisioning_uri"])
    assert isinstance(totp, pyotp.TOTP)
    return totp


def _login(desk: Desk, totp: pyotp.TOTP, username: str = USERNAME) -> DigitalKeyLogin:
    return DigitalKeyLogin(username, KEY_PASSWORD, totp.at(desk.env.clock.now()))


@pytest.mark.parametrize("kind", list(BIS_NUMBERS))
def test_a_foreign_provider_goes_from_the_office_to_a_certificate_a_token_and_a_message(
    desk: Desk, actors: Actors, kind: SsinKind
) -> None:
    bis = BIS_NUMBERS[kind]
    assert Ssin(bis).kind is kind
    png = desk.directory / "enrolment.png"
    registered = desk.register(bis, USERNAME, "--qr-png", str(png), "--json")
    totp = _enrolled(registered)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert totp.issuer == "eHealth acceptance" and totp.name == USERNAME

    requested = desk.request(totp)
    assert requested.exit_code == 0, requested.output
    keystore = Path(json.loads(requested.stdout)["keystore"])
    entry = read_keystore_file(keystore, actors.password).authentication()
    assert parse_ehealth_subject(entry.certificate.subject).holder_text == f"SSIN={bis}"
    record = actors.certificate_record(format(entry.certificate.serial_number, "x"))
    assert record.digital_key == USERNAME and record.requested_by_ssin == bis

    with StsClient(desk.env.url, KeyEntryRequestSigner(entry), clock=desk.env.clock) as sts:
        token = sts.request_token((), None)
    assert bis in {str(attribute.value) for attribute in token.attributes}

    actors.add_provider()  # a Belgian doctor writes to the foreign one
    sender = actors.keystore(actors.eid(), folder="sender")
    letter = desk.secret("letter.txt", "Referral: patient in room 4")
    sealed = desk.run(
        "seal", "--keystore", str(sender), "--password-file", str(desk.keystore_password),
        "--to", f"SSIN={bis}", str(letter), str(desk.directory / "letter.p7"),
    )  # fmt: skip
    assert sealed.exit_code == 0, sealed.output
    opened = desk.run(
        "unseal", "--keystore", str(keystore), "--password-file", str(desk.keystore_password),
        str(desk.directory / "letter.p7"), str(desk.directory / "letter.out"),
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert (desk.directory / "letter.out").read_text() == "Referral: patient in room 4\n"

    records = actors.audit_records()
    issued = [r for r in records if r.action == "issued" and r.subject == f"SSIN={bis}"]
    assert [(r.actor, json.loads(r.detail)["method"]) for r in issued] == [
        (f"digital-key:{USERNAME}", "digital-key")
    ]
    [enrolment] = [r for r in records if r.action == "digital-key-issued"]
    assert enrolment.subject == f"SSIN={bis}"
    assert enrolment.actor.startswith("certificate:")
    detail = json.loads(enrolment.detail)
    assert (detail["document_type"], detail["issuing_country"], detail["office"]) == (
        "passport",
        "PT",
        "IXELLES",
    )


def test_the_terminal_shows_the_enrolment_qr_code(desk: Desk) -> None:
    registered = desk.register()
    assert registered.exit_code == 0, registered.output
    assert f"Digital key {USERNAME} issued to SSIN {FOREIGN} at office IXELLES" in registered.stdout
    assert "\u2580" in registered.stdout or "\u2584" in registered.stdout  # half blocks
    assert "otpauth://" not in registered.stdout  # the secret only inside the picture


def test_a_replayed_code_is_refused(desk: Desk) -> None:
    totp = _enrolled(desk.register(FOREIGN, USERNAME, "--json"))
    code = desk.code(totp)
    login = DigitalKeyLogin(USERNAME, KEY_PASSWORD, code.read_text().strip())
    with desk.env.client() as client:
        first = client.request_with_digital_key(login, build_csr(generate_rsa_key()))
        assert first.serial
        with pytest.raises(EhcertError) as replayed:
            client.revoke_with_digital_key(login, first.serial, "unspecified")
        assert replayed.value.kind is ErrorKind.UNAUTHORIZED
        assert "This code was already used; a code is valid once" in replayed.value.detail
        # The code of the step before, still inside the window, is older: refused too.
        earlier = DigitalKeyLogin(USERNAME, KEY_PASSWORD, totp.at(desk.env.clock.now() - STEP))
        with pytest.raises(EhcertError, match="already used"):
            client.revoke_with_digital_key(earlier, first.serial, "unspecified")
        desk.env.clock.advance(STEP)
        revoked = client.revoke_with_digital_key(_login(desk, totp), first.serial, "unspecified")
    assert revoked.status.value == "revoked"


def test_failed_attempts_lock_the_key_and_say_when_to_retry(desk: Desk) -> None:
    totp = _enrolled(desk.register(FOREIGN, USERNAME, "--json"))
    csr = build_csr(generate_rsa_key())
    wrong = DigitalKeyLogin(USERNAME, KEY_PASSWORD, "000000")
    if totp.verify("000000", for_time=desk.env.clock.now(), valid_window=1):
        desk.env.clock.advance(3 * STEP)
    with desk.env.client() as client:
        for _ in range(4):
            with pytest.raises(EhcertError) as refused:
                client.request_with_digital_key(wrong, csr)
            assert refused.value.kind is ErrorKind.UNAUTHORIZED
            assert refused.value.detail == (
                "The username, password or code of the digital key is wrong; 5 failed "
                "attempts in a row lock the digital key for 15 minutes."
            )
        with pytest.raises(EhcertError) as locked:
            client.request_with_digital_key(wrong, csr)
    assert locked.value.kind is ErrorKind.RATE_LIMITED
    assert locked.value.detail == (
        f"Too many failed attempts: the digital key {USERNAME} is locked until "
        "2026-03-02 09:45 UTC; try again then (in 15 minutes)."
    )
    # The right code is refused too while the lock lasts, with the time left.
    desk.env.clock.advance(dt.timedelta(minutes=5))
    refused_cli = desk.request(totp)
    assert refused_cli.exit_code == 1
    assert "locked until 2026-03-02 09:45 UTC; try again then (in 10 minutes)" in (
        refused_cli.stderr
    )
    desk.env.clock.set(T0 + dt.timedelta(minutes=15))
    assert desk.request(totp, folder="after-lock").exit_code == 0


def test_a_locked_key_says_when_to_retry_in_retry_after_too(desk: Desk) -> None:
    """The 429 of a lock carries ``Retry-After`` (RFC 9110 section 10.2.3) as the
    HTTP-date of the very minute the sentence names, whatever second the lock began."""
    _enrolled(desk.register(FOREIGN, USERNAME, "--json"))
    desk.env.clock.advance(dt.timedelta(seconds=17))  # the lock ends at a whole minute
    body = {"username": USERNAME, "password": "not the password", "code": "000000", "csr": "AA"}
    url = desk.env.url + "/v1/digital-key/certificates"
    for _ in range(4):
        assert httpx.post(url, json=body).status_code == 401
    locked = httpx.post(url, json=body)
    assert locked.status_code == 429
    assert "locked until 2026-03-02 09:46 UTC" in locked.json()["detail"]
    assert locked.headers["Retry-After"] == "Mon, 02 Mar 2026 09:46:00 GMT"
    # Later in the lock: the same moment, in the sentence and in the header.
    desk.env.clock.advance(dt.timedelta(minutes=7, seconds=3))
    again = httpx.post(url, json=body)
    assert again.status_code == 429
    assert (
        "locked until 2026-03-02 09:46 UTC; try again then (in 9 minutes)"
        in (again.json()["detail"])
    )
    assert parsedate_to_datetime(again.headers["Retry-After"]) == dt.datetime(
        2026, 3, 2, 9, 46, tzinfo=dt.UTC
    )


def test_a_revoked_digital_key_can_neither_renew_nor_request(desk: Desk, actors: Actors) -> None:
    totp = _enrolled(desk.register(FOREIGN, USERNAME, "--json"))
    requested = desk.request(totp)
    assert requested.exit_code == 0, requested.output
    keystore = json.loads(requested.stdout)["keystore"]

    revoked = desk.run(
        "office", "revoke-key", USERNAME, "--reason", "passport reported stolen",
        "--keystore", str(desk.officer_keystore),
        "--password-file", str(desk.keystore_password), "--json",
    )  # fmt: skip
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["ssin"] == FOREIGN

    entry = read_keystore_file(Path(keystore), actors.password).authentication()
    desk.env.clock.set(entry.certificate.not_valid_after_utc - dt.timedelta(days=30))
    with_certificate = desk.run(
        "cert", "renew", "--keystore", keystore, "--password-file", str(desk.keystore_password)
    )
    assert with_certificate.exit_code == 1
    assert "was requested with a digital key that is revoked now" in with_certificate.stderr
    assert "revoked by the registration office on 2026-03-02 (passport reported stolen)" in (
        with_certificate.stderr
    )
    with_key = desk.run(
        "cert", "renew", "--keystore", keystore, "--password-file",
        str(desk.keystore_password), *desk.login_options(totp),
    )  # fmt: skip
    assert with_key.exit_code == 1
    assert f"The digital key {USERNAME} was revoked by the registration office" in (with_key.stderr)
    desk.env.clock.advance(STEP)
    assert "Register again at a registration office" in desk.request(totp, "again").stderr


def test_a_live_digital_key_renews_its_certificate(desk: Desk, actors: Actors) -> None:
    totp = _enrolled(desk.register(FOREIGN, USERNAME, "--json"))
    requested = desk.request(totp)
    keystore = json.loads(requested.stdout)["keystore"]
    entry = read_keystore_file(Path(keystore), actors.password).authentication()
    desk.env.clock.set(entry.certificate.not_valid_after_utc - dt.timedelta(days=30))
    renewed = desk.run(
        "cert", "renew", "--keystore", keystore, "--password-file",
        str(desk.keystore_password), *desk.login_options(totp), "--json",
    )  # fmt: skip
    assert renewed.exit_code == 0, renewed.output
    serial = json.loads(renewed.stdout)["certificate"]["serial"]
    assert actors.certificate_record(serial).digital_key == USERNAME
    [renewal] = [r for r in actors.audit_records() if r.action == "renewed"]
    assert renewal.actor == f"digital-key:{USERNAME}"


def test_the_office_refuses_what_the_hybrid_method_is_not_for(desk: Desk, actors: Actors) -> None:
    belgian = desk.register(actors.doctor, "bryan.b")
    assert belgian.exit_code == 1
    assert "is a national register number: its holder has a Belgian eID" in belgian.stderr
    unlisted = desk.register("79221802386", "someone.else")
    assert unlisted.exit_code == 1
    assert "is not in the registry of care providers" in unlisted.stderr
    assert desk.register(FOREIGN, USERNAME).exit_code == 0
    taken = desk.register(BIS_NUMBERS[SsinKind.BIS_SEX_UNKNOWN], USERNAME)
    assert taken.exit_code == 1
    assert f"The username {USERNAME} is taken" in taken.stderr
    again = desk.register(FOREIGN, "ana.second")
    assert again.exit_code == 1
    assert f"SSIN {FOREIGN} already holds a digital key; revoke it first" in again.stderr

    # A certificate that is not an officer's acts for no office (an eID signature for
    # none either: tests/e2e/test_authorisation_table.py).
    actors.add_provider()
    doctor = actors.keystore(actors.eid(), folder="doctor")
    stranger = desk.run(
        "office", "revoke-key", USERNAME, "--reason", "no", "--keystore", str(doctor),
        "--password-file", str(desk.keystore_password),
    )  # fmt: skip
    assert stranger.exit_code == 1
    assert f"SSIN {actors.doctor} is not an active officer of a registration office" in (
        stranger.stderr
    )


def test_a_digital_key_login_names_the_wrong_field_and_hides_which_usernames_exist(
    desk: Desk,
) -> None:
    totp = _enrolled(desk.register(FOREIGN, USERNAME, "--json"))
    url = desk.env.url + "/v1/digital-key/certificates"
    login = {"username": USERNAME, "password": KEY_PASSWORD, "code": "12"}
    short = httpx.post(url, json={**login, "csr": "AA"})
    assert (short.status_code, short.json()["field"]) == (400, "code")
    extra = httpx.post(url, json={**login, "code": "123456", "csr": "AA", "institution": "x"})
    assert (extra.status_code, extra.json()["field"]) == (400, "institution")
    unknown = httpx.post(url, json={**login, "username": "nobody", "code": "123456", "csr": "AA"})
    wrong = httpx.post(url, json={**login, "password": "not the password", "code": "123456",
                                  "csr": "AA"})  # fmt: skip
    assert unknown.status_code == wrong.status_code == 401
    assert (
        unknown.json()["detail"]
        == wrong.json()["detail"]
        == (
            "The username, password or code of the digital key is wrong; 5 failed attempts in "
            "a row lock the digital key for 15 minutes."
        )
    )
    # The right login with a bad CSR: the code is spent all the same (it was shown).
    code = totp.at(desk.env.clock.now())
    bad_csr = httpx.post(url, json={**login, "code": code, "csr": "AA"})
    assert bad_csr.status_code == 400
    replay = httpx.post(url, json={**login, "code": code, "csr": "AA"})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    refused = [r for r in actors_refusals(desk) if r["action"] == "digital-key login"]
    assert len(refused) == 3  # unknown user, wrong password, replay; no password in any
    assert all(KEY_PASSWORD not in json.dumps(r) for r in refused)


def actors_refusals(desk: Desk) -> list[dict[str, object]]:
    from ehcert.store.audit import AuditLog

    with desk.env.platform.database.session() as session:
        records = AuditLog(session).records(limit=10_000)
    return [json.loads(r.detail) for r in records if r.action == "refused"]
