"""A certificate that fails pkilint is never signed, also on the one-transaction path.

``POST /v1/certificates`` runs as one transaction (``store.unit_of_work``,
``Transactions.shared``) and lints with the indexed traversal (``pki.lint_traversal``):
a certificate the profile code gets wrong must still be refused before the CA key signs
it, with nothing stored, the refusal audited and the request's nonce spent, on both
stores.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ehcert.ca import authority
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, build_csr
from ehcert.core.audit import REFUSED
from ehcert.operations import issue_test_eid
from ehcert.pki.jws import create_jws
from ehcert.store.audit import AuditLog
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningPlatform

PATH = "/v1/certificates"


def _signed_request(env: RunningPlatform, signer: EidRequestSigner) -> bytes:
    csr = build_csr(ec.generate_private_key(ec.SECP256R1()))
    payload = json.dumps({"csr": base64.urlsafe_b64encode(csr).rstrip(b"=").decode()})
    jws = create_jws(
        payload.encode(),
        url=env.platform.settings.base_url + PATH,
        nonce=env.platform.nonces.issue(),
        chain=signer.chain,
        sign=signer.sign,
    )
    return json.dumps(jws).encode()


def _audit_actions(env: RunningPlatform) -> list[str]:
    with env.platform.unit_of_work() as session:
        return [record.action for record in AuditLog(session).records()]


def test_a_certificate_failing_lint_is_refused_unsigned_and_unstored(
    env: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssin = example_ssin(4114)
    now = env.clock.now()
    env.registry.add_provider(ssin, None, "doctor", "Lint", "Refusal", now=now)
    issue_test_eid(env.platform, ssin, "1234", out=tmp_path / "eid.p12")
    signer = EidRequestSigner(Pkcs12EidCredential.from_file(tmp_path / "eid.p12", "1234"))
    original = authority.profiles.ehealth_authentication_builder

    def wrong_profile(*args: Any, **kwargs: Any) -> x509.CertificateBuilder:
        # An end entity may not constrain names (RFC 5280 section 4.2.1.10).
        return original(*args, **kwargs).add_extension(
            x509.NameConstraints(
                permitted_subtrees=[x509.DNSName("ehealth.test")], excluded_subtrees=None
            ),
            critical=True,
        )

    monkeypatch.setattr(authority.profiles, "ehealth_authentication_builder", wrong_profile)
    body = _signed_request(env, signer)
    headers = {"Content-Type": "application/jose+json"}
    refused = httpx.post(env.url + PATH, content=body, headers=headers)
    assert refused.status_code == 500, refused.text
    assert "Refusing to sign" in refused.json()["detail"]
    assert env.platform.ra.live_for_holder("SSIN", ssin, env.clock.now()) == []
    assert _audit_actions(env)[-1] == REFUSED
    replayed = httpx.post(env.url + PATH, content=body, headers=headers)
    assert replayed.status_code == 400
    assert "nonce" in replayed.json()["type"].lower() + replayed.json()["detail"].lower()

    monkeypatch.undo()
    issued = httpx.post(env.url + PATH, content=_signed_request(env, signer), headers=headers)
    assert issued.status_code == 201, issued.text
    assert len(env.platform.ra.live_for_holder("SSIN", ssin, env.clock.now())) == 1
