"""The authorisation table: every endpoint against every kind of caller, over real HTTP.

One row per endpoint of the app's routes, one column per kind of caller; each cell is
the problem type the platform must answer (the last segment of ``type``), ``ok`` where
the caller is entitled to an answer about itself only, or ``public`` for a row no
caller needs a proof of identity for. A route without a row fails
:func:`test_every_route_has_a_row`, so a new endpoint cannot go unexamined.

The victim is a validated doctor who holds a mandate for a hospital, a personal
certificate (``own``) and a hospital certificate (``inst``); each caller goes after
those. The last column signs with the doctor's certificate from a production platform
(its own hierarchy and policy OID, made once per session): every route of this
acceptance platform answers ``wrong-environment``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.routing import Mount

from ehcert.api.app import create_app
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.core.identifiers import InstitutionId
from ehcert.core.identity import admin_identity
from ehcert.operations import end_mandate, withdraw_provider
from ehcert.pki.jws import b64url_encode, create_jws

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform

OTHER_DOCTOR = "85071212390"
TEST_SSIN = "00023000183"  # the reserved block of test persons (core.reserved_ssins)
TEST_HOSPITAL = "NIHII-HOSPITAL=71999926"
JOSE = {"Content-Type": "application/jose+json"}
SAML = {"Content-Type": "application/samlassertion+xml"}

CALLERS = [
    "anonymous",
    "another-provider",
    "revoked-certificate",
    "expired-certificate",
    "replayed-nonce",
    "sts-token",
    "mandate-ended",
    "withdrawn-provider",
    "other-environment",
]
# Columns in the order of CALLERS. "ok": an answer about the caller itself only; the
# eID-signed ETK, STS and registration office requests are "unauthorized" since those
# take only a current certificate of this platform (the office: an officer's; a
# provider's certificate is refused in tests/e2e/test_foreign_providers.py); an STS
# token proves nothing here (not a JWS). The integrator rows take only an integrator's
# own integrator certificate: any provider's certificate or eID is "unauthorized"
# (the integrator's own calls, and another integrator's, are tests/e2e/test_integrators.py).
# fmt: off
_ROWS: dict[str, list[str]] = {
    "POST /v1/certificates": ["unauthorized", "no-mandate", "revoked", "certificate-expired", "bad-nonce", "malformed", "no-mandate", "withdrawn", "wrong-environment"],  # noqa: E501
    "POST /v1/certificates/renew": ["unauthorized", "forbidden", "revoked", "certificate-expired", "bad-nonce", "malformed", "no-mandate", "withdrawn", "wrong-environment"],  # noqa: E501
    "POST /v1/certificates/revoke": ["unauthorized", "forbidden", "revoked", "certificate-expired", "bad-nonce", "malformed", "no-mandate", "withdrawn", "wrong-environment"],  # noqa: E501
    "POST /v1/qualities": ["unauthorized", "ok", "revoked", "certificate-expired", "bad-nonce", "malformed", "ok", "ok", "wrong-environment"],  # noqa: E501
    "POST /v1/application-ids": ["unauthorized", "no-mandate", "revoked", "certificate-expired", "bad-nonce", "malformed", "no-mandate", "withdrawn", "wrong-environment"],  # noqa: E501
    "POST /v1/revocable": ["unauthorized", "ok", "revoked", "certificate-expired", "bad-nonce", "malformed", "ok", "ok", "wrong-environment"],  # noqa: E501
    "POST /v1/renewal-check": ["unauthorized", "answer:forbidden", "revoked", "certificate-expired", "bad-nonce", "malformed", "answer:no-mandate", "answer:withdrawn", "wrong-environment"],  # noqa: E501
    "POST /v1/etk/challenges": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/etk": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /sts/token": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/office/registrations": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/office/digital-keys/revoke": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/integrator/test-persons": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/integrator/test-institutions": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/integrator/test-mandates": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/integrator/test-identities": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
    "POST /v1/integrator/test-certificates": ["unauthorized", "unauthorized", "revoked", "certificate-expired", "bad-nonce", "malformed", "unauthorized", "unauthorized", "wrong-environment"],  # noqa: E501
}
# fmt: on
TABLE: dict[str, dict[str, str]] = {
    endpoint: dict(zip(CALLERS, cells, strict=True)) for endpoint, cells in _ROWS.items()
}
PUBLIC = {
    "GET /v1/nonce",
    "GET /health",
    "GET /",
    "GET /v1/certificates/{serial}",
    "GET /v1/ca",
    "GET /ca/{name}.crt",
    "GET /crl/{name}.crl",
    "POST /ocsp",
    "GET /ocsp/{encoded:path}",
    "GET /v1/etk",
    "GET /sts/certificate",
    "GET /openapi.json",
    "GET /docs",
    "MOUNT /docs/static",
    "GET /v1/trust-list.xml",
    "GET /v1/trust-lists/{sequence}.xml",
    "GET /metrics",
}
# The eHealthBox takes an STS token with a holder-of-key signature, not the eID or
# certificate JWS of the rows above; its callers are refused in tests/e2e/test_ehbox.py
# (a token with another key, a revoked sender, a revoked recipient).
EHBOX = {
    f"POST /ehbox/v3/{operation}"
    for operation in (
        "messages", "messages/list", "messages/all", "messages/full", "messages/history",
        "messages/acknowledgments", "messages/move", "messages/delete", "box-info",
        "ooo/insert", "ooo/list", "ooo/delete",
    )
}  # fmt: skip


# The hybrid method's certificate routes take a digital key's login (username, password,
# single-use TOTP code) in a JSON body, not a JWS; a wrong password, a replayed code, a
# lockout and a revoked key are refused in tests/e2e/test_foreign_providers.py.
DIGITAL_KEY = {
    "POST /v1/digital-key/certificates",
    "POST /v1/digital-key/certificates/renew",
    "POST /v1/digital-key/certificates/revoke",
}


# The integrator's enrolment takes its one-time secret in a JSON body, not a JWS; a wrong,
# spent or unknown secret is refused in tests/e2e/test_integrators.py.
INTEGRATOR_ENROLMENT = {"POST /v1/integrator/enrolment"}
# Routes an acceptance platform has and a production one does not have at all.
ACCEPTANCE_ONLY = {
    endpoint for endpoint in TABLE if endpoint.startswith("POST /v1/integrator/")
} | INTEGRATOR_ENROLMENT


def _walk(routes: list[Any], prefix: str = "") -> set[str]:
    """``METHOD path`` of every route, into included routers (FastAPI 0.16x keeps those
    as one entry that holds the original router)."""
    found: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            found |= _walk(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, Mount):
            found.add(f"MOUNT {prefix}{route.path}")
        else:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    found.add(f"{method} {prefix}{route.path}")
    return found


def _routes(actors: Actors) -> set[str]:
    return _walk(create_app(actors.env.platform.edge).routes)


def test_every_route_has_a_row(actors: Actors) -> None:
    routes = _routes(actors)
    missing = routes - set(TABLE) - PUBLIC - EHBOX - DIGITAL_KEY - INTEGRATOR_ENROLMENT
    assert not missing, f"endpoints without a row in the authorisation table: {missing}"
    known = set(TABLE) | PUBLIC | EHBOX | DIGITAL_KEY | INTEGRATOR_ENROLMENT
    assert not known - routes, "rows for endpoints that no longer exist"


# --- the scene ------------------------------------------------------------------------------


@dataclass
class Scene:
    """The victim's certificates and the caller's means of signing."""

    own_serial: str
    inst_serial: str
    chain: list[Any]
    sign: Callable[[bytes], bytes]
    target: str  # the serial the caller goes after
    encryption_certificate: str  # b64url DER for the ETK challenge
    csr: str


def _payload(endpoint: str, scene: Scene) -> dict[str, object]:
    hospital = "NIHII-HOSPITAL=71000436"
    return {
        "POST /v1/certificates": {"csr": scene.csr, "institution": hospital},
        "POST /v1/certificates/renew": {"csr": scene.csr, "serial": scene.target},
        "POST /v1/certificates/revoke": {"serial": scene.target},
        "POST /v1/qualities": {},
        "POST /v1/application-ids": {"holder": hospital},
        "POST /v1/revocable": {},
        "POST /v1/renewal-check": {"serial": scene.target},
        "POST /v1/etk/challenges": {"encryption_certificate": scene.encryption_certificate},
        "POST /v1/etk": {"challenge_id": "c" * 32, "answer": b64url_encode(b"\0" * 32)},
        "POST /sts/token": {},
        "POST /v1/office/registrations": {
            "ssin": "01410100115",
            "document_type": "passport",
            "document_number": "CB1234567",
            "issuing_country": "PT",
            "document_expiry": "2031-05-01",
            "username": "ana.pereira",
            "password": "uma palavra-passe comprida",
        },
        "POST /v1/office/digital-keys/revoke": {"username": "ana.pereira", "reason": "stolen"},
        "POST /v1/integrator/test-persons": {"first_name": "Ann", "last_name": "Test"},
        "POST /v1/integrator/test-institutions": {"institution": TEST_HOSPITAL, "name": "T"},
        "POST /v1/integrator/test-mandates": {"institution": TEST_HOSPITAL, "ssin": TEST_SSIN},
        "POST /v1/integrator/test-identities": {},
        "POST /v1/integrator/test-certificates": {"csr": scene.csr, "ssin": TEST_SSIN},
    }[endpoint]


def _nonce(actors: Actors) -> str:
    return httpx.get(actors.env.url + "/v1/nonce").headers["Replay-Nonce"]


def _signed_body(actors: Actors, endpoint: str, scene: Scene, nonce: str) -> str:
    url = actors.env.url + endpoint.split(" ", 1)[1]
    payload = json.dumps(_payload(endpoint, scene)).encode()
    return json.dumps(create_jws(payload, url=url, nonce=nonce, chain=scene.chain, sign=scene.sign))


def _outcome(response: httpx.Response) -> str:
    """``ok``, or the problem's kind; a renewal check says its refusal in its answer
    (certra validateRenew), as ``answer:<kind>``."""
    if response.status_code < 300:
        body = response.json() if "json" in response.headers["content-type"] else {}
        if isinstance(body, dict) and body.get("accepted") is False:
            return f"answer:{body['kind']}"
        return "ok"
    assert response.headers["content-type"] == "application/problem+json", response.text
    return str(response.json()["type"]).removeprefix("urn:ehcert:problem:")


def _victim(actors: Actors) -> tuple[Any, Any, Any]:
    """The doctor, the hospital and its mandate; a personal and a hospital certificate."""
    actors.add_provider()
    actors.add_institution()
    eid = actors.eid()
    own = actors.request(eid, 0)
    inst = actors.request(eid, 1, institution=actors.hospital)
    return eid, own, inst


def _scene(actors: Actors, own: Any, inst: Any, signer: Any, target: str) -> Scene:
    return Scene(
        own_serial=own.serial,
        inst_serial=inst.serial,
        chain=list(signer.chain),
        sign=signer.sign,
        target=target,
        encryption_certificate=b64url_encode(
            own.certificate.public_bytes(serialization.Encoding.DER)
        ),
        csr=b64url_encode(actors.csr(2)),
    )


def _post_all(actors: Actors, scene: Scene) -> dict[str, str]:
    outcomes = {}
    for endpoint in TABLE:
        body = _signed_body(actors, endpoint, scene, _nonce(actors))
        url = actors.env.url + endpoint.split(" ", 1)[1]
        outcomes[endpoint] = _outcome(httpx.post(url, content=body, headers=JOSE, timeout=30))
    return outcomes


def _anonymous(actors: Actors) -> dict[str, str]:
    _, own, _ = _victim(actors)
    outcomes = {}
    for endpoint in TABLE:
        url = actors.env.url + endpoint.split(" ", 1)[1]
        header = {"alg": "none", "nonce": _nonce(actors), "url": url}
        body = json.dumps(
            {
                "protected": b64url_encode(json.dumps(header).encode()),
                "payload": b64url_encode(json.dumps({"serial": own.serial}).encode()),
                "signature": "",
            }
        )
        outcomes[endpoint] = _outcome(httpx.post(url, content=body, headers=JOSE))
    return outcomes


def _another_provider(actors: Actors) -> dict[str, str]:
    _, own, inst = _victim(actors)
    actors.add_provider(OTHER_DOCTOR, first_name="Ann", last_name="Other")
    stranger = actors.eid(OTHER_DOCTOR, first_name="Ann", last_name="Other")
    return _post_all(actors, _scene(actors, own, inst, stranger.signer, own.serial))


def _revoked(actors: Actors) -> dict[str, str]:
    _, own, inst = _victim(actors)
    platform = actors.env.platform
    platform.ra.revoke(admin_identity("security"), own.serial, "keyCompromise", platform.now())
    signer = KeyEntryRequestSigner(actors.entry(own, 0))
    return _post_all(actors, _scene(actors, own, inst, signer, own.serial))


def _expired(actors: Actors) -> dict[str, str]:
    _, own, inst = _victim(actors)
    actors.env.clock.set(own.not_after + dt.timedelta(days=1))
    signer = KeyEntryRequestSigner(actors.entry(own, 0))
    return _post_all(actors, _scene(actors, own, inst, signer, own.serial))


def _replayed(actors: Actors) -> dict[str, str]:
    _, own, inst = _victim(actors)
    signer = KeyEntryRequestSigner(actors.entry(own, 0))
    scene = _scene(actors, own, inst, signer, own.serial)
    outcomes = {}
    for endpoint in TABLE:
        nonce = _nonce(actors)
        spent = _signed_body(actors, "POST /v1/qualities", scene, nonce)
        first = httpx.post(actors.env.url + "/v1/qualities", content=spent, headers=JOSE)
        assert first.status_code == 200, first.text
        url = actors.env.url + endpoint.split(" ", 1)[1]
        body = _signed_body(actors, endpoint, scene, nonce)
        outcomes[endpoint] = _outcome(httpx.post(url, content=body, headers=JOSE))
    return outcomes


def _sts_token(actors: Actors) -> dict[str, str]:
    """A real STS token, then a stale and a forged copy, offered instead of a JWS."""
    _, own, inst = _victim(actors)
    signer = KeyEntryRequestSigner(actors.entry(own, 0))
    scene = _scene(actors, own, inst, signer, own.serial)
    issued = httpx.post(
        actors.env.url + "/sts/token",
        content=_signed_body(actors, "POST /sts/token", scene, _nonce(actors)),
        headers=JOSE,
    )
    assert issued.status_code == 200, issued.text
    token = issued.content
    forged = token.replace(actors.doctor.encode(), OTHER_DOCTOR.encode())
    assert forged != token
    actors.env.clock.advance(dt.timedelta(days=3))  # the token is stale from here on
    outcomes = {}
    for endpoint in TABLE:
        url = actors.env.url + endpoint.split(" ", 1)[1]
        seen = {_outcome(httpx.post(url, content=body, headers=SAML)) for body in (token, forged)}
        assert len(seen) == 1, (endpoint, seen)
        outcomes[endpoint] = seen.pop()
    return outcomes


def _mandate_ended(actors: Actors) -> dict[str, str]:
    eid, own, inst = _victim(actors)
    end_mandate(
        actors.env.platform,
        InstitutionId.parse(actors.hospital),
        actors.doctor,
        "registry-operator",
        revoke_certificates=False,
    )
    return _post_all(actors, _scene(actors, own, inst, eid.signer, inst.serial))


def _withdrawn(actors: Actors) -> dict[str, str]:
    eid, own, inst = _victim(actors)
    withdraw_provider(actors.env.platform, actors.doctor, "registry-operator")
    # The personal certificate is revoked by the withdrawal; the hospital's is not, and the
    # withdrawn doctor still has the mandate on record: that is what is tried.
    return _post_all(actors, _scene(actors, own, inst, eid.signer, inst.serial))


def _other_environment(actors: Actors, production: RunningPlatform) -> dict[str, str]:
    """The doctor's own certificate, but from the production platform's CA."""
    _, own, inst = _victim(actors)
    signer = KeyEntryRequestSigner(actors.other_environment_entry(production, 3))
    return _post_all(actors, _scene(actors, own, inst, signer, own.serial))


SCENARIOS: dict[str, Callable[[Actors], dict[str, str]]] = {
    "anonymous": _anonymous,
    "another-provider": _another_provider,
    "revoked-certificate": _revoked,
    "expired-certificate": _expired,
    "replayed-nonce": _replayed,
    "sts-token": _sts_token,
    "mandate-ended": _mandate_ended,
    "withdrawn-provider": _withdrawn,
}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_is_refused_with_the_right_problem(
    actors: Actors, caller: str, request: pytest.FixtureRequest
) -> None:
    expected = {endpoint: row[caller] for endpoint, row in TABLE.items()}
    if caller == "other-environment":
        # Asked for here only, so the other columns never open a production platform.
        outcomes = _other_environment(actors, request.getfixturevalue("production"))
    else:
        outcomes = SCENARIOS[caller](actors)
    assert outcomes == expected


def test_production_refuses_every_route_an_acceptance_certificate(
    actors: Actors, production: RunningPlatform
) -> None:
    """The other direction of the last column: this acceptance platform's certificate,
    eID and keys offered to a production platform, on every signed route; the
    integrator routes are not there at all (404, tests/e2e/test_integrators.py)."""
    _, own, inst = _victim(actors)
    holder = KeyEntryRequestSigner(actors.entry(own, 0))
    eid = actors.eid()
    outcomes: dict[str, set[str]] = {}
    for signer in (holder, eid.signer):
        scene = _scene(actors, own, inst, signer, own.serial)
        for endpoint in TABLE:
            url = production.url + endpoint.split(" ", 1)[1]
            nonce = httpx.get(production.url + "/v1/nonce").headers["Replay-Nonce"]
            payload = json.dumps(_payload(endpoint, scene)).encode()
            body = json.dumps(
                create_jws(payload, url=url, nonce=nonce, chain=scene.chain, sign=scene.sign)
            )
            answer = httpx.post(url, content=body, headers=JOSE, timeout=30)
            outcomes.setdefault(endpoint, set()).add(_outcome(answer))
            if endpoint not in ACCEPTANCE_ONLY:
                assert "(wrong environment)" in answer.json()["detail"], (endpoint, answer.text)
    assert outcomes == {
        endpoint: {"not-found" if endpoint in ACCEPTANCE_ONLY else "wrong-environment"}
        for endpoint in TABLE
    }
