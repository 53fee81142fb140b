"""The STS over real HTTP, on SQLite and PostgreSQL: tokens for a doctor, a nurse and a
hospital, the SDK's cache, the CLI, and every refusal.

The platform here is the shared ``env`` platform, whose API includes the STS routes
(``api.sts``).
Keystores come from the real request flow (test eID, Certificate Manager); each token is
validated against the OASIS SAML 1.1 schema and verified with ``xmlsec1`` against the
certificate ``GET /sts/certificate`` publishes, and a tampered one fails.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import delete
from typer.testing import CliRunner

from ehcert.cli.options import CertRuntime
from ehcert.cli.sts import sts_app
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, KeyEntryRequestSigner
from ehcert.client.platform import PlatformClient
from ehcert.client.sts import SamlToken, StsClient, verify_assertion
from ehcert.core.names import person_subject
from ehcert.manager.certificates import request_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki import profiles
from ehcert.pki.jws import b64url_encode, create_jws
from ehcert.pki.keystore import read_keystore_file
from ehcert.store.audit import AuditLog
from ehcert.store.models import ProviderRow

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
DOCTOR = "79021802145"
NURSE = "66010123462"
HOSPITAL = "NIHII-HOSPITAL=71000436"
PASSWORD = "correct horse battery staple"
if TYPE_CHECKING:
    from conftest import RunningPlatform  # type: ignore[import-not-found]

SCHEMA = (
    Path(__file__).resolve().parents[1]
    / "fixtures/soap/saml-sts/oasis-sstc-saml-schema-assertion-1.1.xsd"
)

HOLDER_SSIN = "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin"
PERSON_SSIN = "urn:be:fgov:person:ssin"
DOCTOR_BOOL = "urn:be:fgov:person:ssin:doctor:boolean"
NURSE_BOOL = "urn:be:fgov:person:ssin:nurse:boolean"
DOCTOR_NIHII = "urn:be:fgov:person:ssin:ehealth:1.0:doctor:nihii11"
NURSE_NIHII = "urn:be:fgov:person:ssin:ehealth:1.0:nurse:nihii11"
GIVEN_NAME = "urn:be:fgov:person:ssin:ehealth:1.0:givenname"
SURNAME = "urn:be:fgov:person:ssin:ehealth:1.0:surname"
HOSPITAL_NUMBER = "urn:be:fgov:ehealth:1.0:hospital:nihii-number"
HOLDER_HOSPITAL = "urn:be:fgov:ehealth:1.0:certificateholder:hospital:nihii-number"
RECOGNISED = "urn:be:fgov:ehealth:1.0:hospital:nihii-number:recognisedhospital:boolean"
PERSON_ATTRIBUTES = [
    HOLDER_SSIN,
    PERSON_SSIN,
    DOCTOR_BOOL,
    NURSE_BOOL,
    DOCTOR_NIHII,
    NURSE_NIHII,
    GIVEN_NAME,
    SURNAME,
    RECOGNISED,
]


@pytest.fixture
def sts_env(env: RunningPlatform) -> RunningPlatform:
    """The shared end-to-end platform (SQLite and PostgreSQL); the STS is on its API."""
    return env


# --- scenario helpers ---------------------------------------------------------------------


def _eid(
    env: RunningPlatform, folder: Path, ssin: str, first: str, last: str
) -> Pkcs12EidCredential:
    path = folder / f"eid-{ssin}-{secrets.token_hex(3)}.p12"
    issue_test_eid(env.platform, ssin, "1234", first_name=first, last_name=last, out=path)
    return Pkcs12EidCredential.from_file(path, "1234")


def _keystore(
    env: RunningPlatform, folder: Path, eid: Pkcs12EidCredential, institution: str | None = None
) -> Path:
    with PlatformClient(env.url) as client:
        return request_certificate(
            client,
            eid,
            institution=institution,
            application_id=None,
            out_dir=folder / secrets.token_hex(3),
            password=PASSWORD,
            now=env.clock.now(),
        )


def _signer(keystore: Path) -> KeyEntryRequestSigner:
    return KeyEntryRequestSigner(read_keystore_file(keystore, PASSWORD).authentication())


def _doctor(env: RunningPlatform, folder: Path) -> Path:
    env.registry.add_provider(DOCTOR, "10203040506", "doctor", "Bryan", "Brouckaert", now=T0)
    return _keystore(env, folder, _eid(env, folder, DOCTOR, "Bryan", "Brouckaert"))


def _checked(env: RunningPlatform, folder: Path, xml: bytes) -> None:
    """Schema-valid, and verified by xmlsec1 with the published STS certificate."""
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(etree.fromstring(xml))
    pem = folder / "sts.pem"
    pem.write_bytes(httpx.get(f"{env.url}/sts/certificate").content)
    assert _xmlsec1(xml, pem, folder).returncode == 0


def _xmlsec1(xml: bytes, pem: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    token = folder / f"token-{secrets.token_hex(3)}.xml"
    token.write_bytes(xml)
    return subprocess.run(
        [
            "xmlsec1",
            "--verify",
            "--pubkey-cert-pem",
            str(pem),
            "--id-attr:AssertionID",
            "urn:oasis:names:tc:SAML:1.0:assertion:Assertion",
            str(token),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _granted(token: SamlToken) -> dict[str, str | bool]:
    return {a.name: a.value for a in token.attributes}


# --- tokens for a doctor, a nurse and a hospital -----------------------------------------


def test_a_doctor_gets_a_verified_token(sts_env: RunningPlatform, tmp_path: Path) -> None:
    signer = _signer(_doctor(sts_env, tmp_path))
    with StsClient(sts_env.url, signer, clock=sts_env.clock) as client:
        token = client.token(PERSON_ATTRIBUTES)
    assert _granted(token) == {
        HOLDER_SSIN: DOCTOR,
        PERSON_SSIN: DOCTOR,
        DOCTOR_BOOL: True,
        NURSE_BOOL: False,
        DOCTOR_NIHII: "10203040506",
        GIVEN_NAME: "Bryan",
        SURNAME: "Brouckaert",
        RECOGNISED: False,
    }
    assert token.not_on_or_after - token.not_before == dt.timedelta(hours=24)
    _checked(sts_env, tmp_path, token.xml)
    forged = token.xml.replace(b"10203040506", b"10203040599", 1)
    pem = tmp_path / "sts.pem"
    assert _xmlsec1(forged, pem, tmp_path).returncode != 0
    with sts_env.platform.unit_of_work() as session:
        actions = [r.action for r in AuditLog(session).records(limit=100)]
    assert "sts-token" in actions


def test_a_nurse_gets_nurse_attributes_only(sts_env: RunningPlatform, tmp_path: Path) -> None:
    sts_env.registry.add_provider(NURSE, "40203040506", "nurse", "Nora", "Nuyts", now=T0)
    keystore = _keystore(sts_env, tmp_path, _eid(sts_env, tmp_path, NURSE, "Nora", "Nuyts"))
    with StsClient(sts_env.url, _signer(keystore), clock=sts_env.clock) as client:
        token = client.token(PERSON_ATTRIBUTES)
    assert _granted(token) == {
        HOLDER_SSIN: NURSE,
        PERSON_SSIN: NURSE,
        DOCTOR_BOOL: False,
        NURSE_BOOL: True,
        NURSE_NIHII: "40203040506",
        GIVEN_NAME: "Nora",
        SURNAME: "Nuyts",
        RECOGNISED: False,
    }
    _checked(sts_env, tmp_path, token.xml)


def test_a_hospital_gets_its_number_and_recognition(
    sts_env: RunningPlatform, tmp_path: Path
) -> None:
    sts_env.registry.add_provider(DOCTOR, None, "doctor", "Bryan", "Brouckaert", now=T0)
    norms = (T0 - dt.timedelta(days=30)).date()
    sts_env.registry.add_institution(HOSPITAL, "AZ Sint-Jan Brugge", norms, "ok", now=T0)
    sts_env.registry.add_mandate(HOSPITAL, DOCTOR, T0, now=T0)
    eid = _eid(sts_env, tmp_path, DOCTOR, "Bryan", "Brouckaert")
    keystore = _keystore(sts_env, tmp_path, eid, institution=HOSPITAL)
    with StsClient(sts_env.url, _signer(keystore), clock=sts_env.clock) as client:
        default = client.token()
        token = client.token([HOSPITAL_NUMBER, RECOGNISED, DOCTOR_BOOL, PERSON_SSIN])
    assert _granted(default) == {HOLDER_HOSPITAL: "71000436", HOSPITAL_NUMBER: "71000436"}
    assert _granted(token) == {
        HOSPITAL_NUMBER: "71000436",
        RECOGNISED: True,
        DOCTOR_BOOL: False,
    }
    _checked(sts_env, tmp_path, token.xml)


def test_the_sdk_caches_until_half_the_validity_is_gone(
    sts_env: RunningPlatform, tmp_path: Path
) -> None:
    signer = _signer(_doctor(sts_env, tmp_path))
    with StsClient(sts_env.url, signer, clock=sts_env.clock) as client:
        first = client.token([DOCTOR_BOOL])
        sts_env.clock.advance(dt.timedelta(hours=11, minutes=59))
        assert client.token([DOCTOR_BOOL]) is first
        assert client.token([NURSE_BOOL]) is not first  # other attributes, other token
        sts_env.clock.advance(dt.timedelta(minutes=2))
        renewed = client.token([DOCTOR_BOOL])
        short = client.token([DOCTOR_BOOL], validity_hours=2)
    assert renewed.assertion_id != first.assertion_id
    assert renewed.not_before == T0 + dt.timedelta(hours=12, minutes=1)
    assert short.validity == dt.timedelta(hours=2)
    verify_assertion(renewed.xml, client.sts_certificate(), signer.chain[0], renewed.not_before)


def test_the_cli_writes_the_token_and_lists_what_was_granted(
    sts_env: RunningPlatform, tmp_path: Path
) -> None:
    keystore = _doctor(sts_env, tmp_path)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    cli = typer.Typer()
    cli.add_typer(sts_app, name="sts")
    out = tmp_path / "token.xml"
    arguments = ["sts", "token", "--platform", sts_env.url, "--keystore", str(keystore)]
    arguments += ["--password-file", str(password_file), "--out", str(out), "--json"]
    arguments += ["--attribute", DOCTOR_BOOL, "--attribute", NURSE_BOOL]
    runtime = CertRuntime(clock=sts_env.clock)
    result = CliRunner().invoke(cli, arguments, obj=runtime)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["attributes"] == [
        {
            "name": DOCTOR_BOOL,
            "namespace": "urn:be:fgov:certified-namespace:ehealth",
            "value": True,
        },
        {
            "name": NURSE_BOOL,
            "namespace": "urn:be:fgov:certified-namespace:ehealth",
            "value": False,
        },
    ]
    assert summary["not_before"] == T0.isoformat()
    assert summary["not_on_or_after"] == (T0 + dt.timedelta(hours=24)).isoformat()
    assert out.stat().st_mode & 0o777 == 0o600
    _checked(sts_env, tmp_path, out.read_bytes())

    sts_env.registry.withdraw_provider(DOCTOR, now=sts_env.clock.now())
    refused = CliRunner().invoke(cli, arguments, obj=runtime)
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["kind"] == "withdrawn"
    assert refused.stderr.count("\n") == 1 and "withdrawn" in refused.stderr


# --- refusals -------------------------------------------------------------------------------


def _post(
    env: RunningPlatform,
    chain: Sequence[x509.Certificate],
    key: rsa.RSAPrivateKey | None = None,
    *,
    sign: object = None,
    payload: dict[str, object] | None = None,
) -> tuple[httpx.Response, bytes]:
    """POST a token request signed by ``key`` (or ``sign``); return the answer and body."""
    nonce = httpx.get(f"{env.url}/v1/nonce").headers["Replay-Nonce"]

    def by_key(data: bytes) -> bytes:
        assert key is not None
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    jws = create_jws(
        json.dumps(payload or {}).encode(),
        url=f"{env.url}/sts/token",
        nonce=nonce,
        chain=list(chain),
        sign=sign if callable(sign) else by_key,
    )
    body = json.dumps(jws).encode()
    return httpx.post(f"{env.url}/sts/token", content=body), body


def _problem(response: httpx.Response) -> tuple[str, str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    return str(problem["type"]).rsplit(":", 1)[-1], str(problem["detail"])


def _entry(keystore: Path) -> tuple[list[x509.Certificate], rsa.RSAPrivateKey]:
    entry = read_keystore_file(keystore, PASSWORD).authentication()
    assert isinstance(entry.private_key, rsa.RSAPrivateKey)
    return list(_signer(keystore).chain), entry.private_key


def test_refusal_unknown_holder(sts_env: RunningPlatform, tmp_path: Path) -> None:
    chain, key = _entry(_doctor(sts_env, tmp_path))
    with sts_env.platform.unit_of_work() as session:  # gone from the authentic source
        session.execute(delete(ProviderRow).where(ProviderRow.ssin == DOCTOR))
    kind, detail = _problem(_post(sts_env, chain, key)[0])
    assert (kind, detail) == (
        "not-in-registry",
        f"The certificate holder SSIN {DOCTOR} is not in the registry of care providers, "
        "so the STS issues no token.",
    )


def test_refusal_withdrawn_provider(sts_env: RunningPlatform, tmp_path: Path) -> None:
    chain, key = _entry(_doctor(sts_env, tmp_path))
    sts_env.registry.withdraw_provider(DOCTOR, now=T0)
    kind, detail = _problem(_post(sts_env, chain, key)[0])
    assert kind == "withdrawn"
    assert detail.startswith(f"Care provider SSIN {DOCTOR} is withdrawn")


def test_refusal_revoked_certificate(sts_env: RunningPlatform, tmp_path: Path) -> None:
    keystore = _doctor(sts_env, tmp_path)
    chain, key = _entry(keystore)
    with PlatformClient(sts_env.url) as client:
        client.revoke(_signer(keystore), format(chain[0].serial_number, "x"), "keyCompromise")
    kind, detail = _problem(_post(sts_env, chain, key)[0])
    assert kind == "revoked"
    assert "is revoked" in detail


def test_refusal_expired_certificate(sts_env: RunningPlatform, tmp_path: Path) -> None:
    chain, key = _entry(_doctor(sts_env, tmp_path))
    sts_env.clock.set(chain[0].not_valid_after_utc + dt.timedelta(days=1))
    kind, detail = _problem(_post(sts_env, chain, key)[0])
    assert kind == "certificate-expired"
    assert "expired on" in detail


def test_refusal_certificate_from_another_environment(
    sts_env: RunningPlatform, session_rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    """A certificate with the production policy OID, from a hierarchy named production's:
    refused as the other environment's before its chain is looked at."""
    root_key, issuing_key, holder_key = session_rsa_keys[0:3]

    def ca_name(title: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ehcert"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"ehcert Production {title}"),
            ]
        )

    start, end = T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=365)
    root = profiles.root_ca_builder(
        ca_name("Root CA"), root_key.public_key(), serial=1, not_before=start, not_after=end
    ).sign(root_key, hashes.SHA256())
    issuing = profiles.issuing_ca_builder(
        ca_name("Issuing CA"),
        issuing_key.public_key(),
        root,
        serial=2,
        not_before=start,
        not_after=end,
        crl_url="http://production.invalid/crl",
        ca_issuers_url="http://production.invalid/root.crt",
    ).sign(root_key, hashes.SHA256())
    leaf = profiles.ehealth_authentication_builder(
        person_subject(DOCTOR, "Bryan", "Brouckaert"),
        holder_key.public_key(),
        issuing,
        serial=3,
        not_before=start,
        not_after=end,
        crl_url="http://production.invalid/crl",
        ocsp_url="http://production.invalid/ocsp",
        ca_issuers_url="http://production.invalid/issuing.crt",
        policy_oid="1.3.6.1.4.1.32473.1.1.1",
    ).sign(issuing_key, hashes.SHA256())
    kind, detail = _problem(_post(sts_env, [leaf, issuing, root], holder_key)[0])
    assert kind == "wrong-environment"
    assert "belongs to the production environment" in detail
    assert "(wrong environment)" in detail


def test_refusal_eid_certificate(sts_env: RunningPlatform, tmp_path: Path) -> None:
    sts_env.registry.add_provider(DOCTOR, None, "doctor", "Bryan", "Brouckaert", now=T0)
    signer = EidRequestSigner(_eid(sts_env, tmp_path, DOCTOR, "Bryan", "Brouckaert"))
    kind, detail = _problem(_post(sts_env, signer.chain, sign=signer.sign)[0])
    assert kind == "unauthorized"
    assert "is an eID certificate" in detail


def test_refusal_bad_signature(sts_env: RunningPlatform, tmp_path: Path) -> None:
    chain, key = _entry(_doctor(sts_env, tmp_path))
    nonce = httpx.get(f"{sts_env.url}/v1/nonce").headers["Replay-Nonce"]
    jws = create_jws(
        b'{"attributes":["urn:be:fgov:person:ssin:nurse:boolean"]}',
        url=f"{sts_env.url}/sts/token",
        nonce=nonce,
        chain=chain,
        sign=lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )
    swapped = b'{"attributes":["urn:be:fgov:person:ssin:doctor:boolean"]}'
    forged = dict(jws, payload=b64url_encode(swapped))  # another payload, same signature
    response = httpx.post(f"{sts_env.url}/sts/token", content=json.dumps(forged).encode())
    kind, detail = _problem(response)
    assert kind == "unauthorized"
    assert "signature does not verify" in detail


def test_refusal_replayed_nonce(sts_env: RunningPlatform, tmp_path: Path) -> None:
    chain, key = _entry(_doctor(sts_env, tmp_path))
    first, body = _post(sts_env, chain, key)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/samlassertion+xml"
    replay = httpx.post(f"{sts_env.url}/sts/token", content=body)
    kind, detail = _problem(replay)
    assert kind == "bad-nonce"
    assert "already used" in detail


def test_refusal_unknown_attribute(sts_env: RunningPlatform, tmp_path: Path) -> None:
    chain, key = _entry(_doctor(sts_env, tmp_path))
    wizard = "urn:be:fgov:person:ssin:wizard:boolean"
    response, _ = _post(sts_env, chain, key, payload={"attributes": [DOCTOR_BOOL, wizard]})
    kind, detail = _problem(response)
    assert kind == "malformed"
    assert wizard in detail
    too_long, _ = _post(sts_env, chain, key, payload={"validity_hours": 25})
    assert "at most 24 hours" in _problem(too_long)[1]
    with sts_env.platform.unit_of_work() as session:
        refusals = [r for r in AuditLog(session).records(limit=100) if r.action == "refused"]
    assert len(refusals) == 2
    assert all(json.loads(r.detail)["action"] == "sts-token" for r in refusals)


def test_the_published_certificate_is_pem_of_this_environment(sts_env: RunningPlatform) -> None:
    response = httpx.get(f"{sts_env.url}/sts/certificate")
    assert response.status_code == 200
    certificate = x509.load_pem_x509_certificate(response.content)
    certificate.verify_directly_issued_by(sts_env.platform.hierarchy.issuing.certificate)
    assert certificate.public_bytes(serialization.Encoding.PEM) == response.content
