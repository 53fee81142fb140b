"""The platform's certificates, CRLs and OCSP answers, checked by the real openssl CLI.

A relying party that knows only the root certificate must be able to validate an
eHealth certificate with the issuing CA, the CRL from the distribution point and the
OCSP responder, all fetched over HTTP from the running platform, and must see a
revocation at once. CRLs and OCSP responses are cached by the platform (an OCSP
response without a nonce is reused for half its validity, a CRL until its revoked set
changes); these tests ask *before* revoking so the cache is warm, proving a revocation
refreshes it rather than waiting for it to age out.

openssl checks times against its clock; the platform's clock is fixed in 2026, so every
command gets ``-attime`` (the platform's moment) and ``openssl ocsp`` a validity
tolerance wide enough that its wall-clock check of thisUpdate/nextUpdate (which
``-attime`` does not reach) cannot depend on the day the tests run.
"""

from __future__ import annotations

import base64
import subprocess
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ehcert.manager.revocation import revoke_with_eid
from ehcert.store.ocsp_cache import OcspCache

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, RunningPlatform, TestEid

    from ehcert.client.results import IssuedCertificate

OPENSSL = "openssl"
# thisUpdate/nextUpdate are checked against openssl's own clock, which may run a century
# ahead of the tested moment (make test-future): two centuries of tolerance.
OPENSSL_CLOCK_TOLERANCE = str(200 * 365 * 24 * 3600)


def _pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


class _RelyingParty:
    """Files a relying party holds: the root (trusted), the issuing CA and the leaf."""

    def __init__(self, env: RunningPlatform, directory: Path, leaf: x509.Certificate) -> None:
        self.env = env
        self.directory = directory
        root_der = httpx.get(f"{env.url}/ca/acceptance-root.crt").content
        issuing_der = httpx.get(f"{env.url}/ca/acceptance-issuing.crt").content
        self.issuing = x509.load_der_x509_certificate(issuing_der)
        self.root = _pem(directory / "root.pem", x509.load_der_x509_certificate(root_der))
        self.issuing_pem = _pem(directory / "issuing.pem", self.issuing)
        self.leaf = leaf
        self.leaf_pem = _pem(directory / "leaf.pem", leaf)

    @property
    def attime(self) -> str:
        return str(int(self.env.clock.now().timestamp()))

    def fetch_crl(self) -> tuple[bytes, Path]:
        """The CRL named in the leaf's distribution point, DER to PEM with openssl."""
        points = self.leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        full_name = points.value[0].full_name
        assert full_name is not None
        url = full_name[0].value
        assert url == f"{self.env.url}/crl/acceptance.crl"
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pkix-crl"
        der_path = self.directory / "crl.der"
        pem_path = self.directory / "crl.pem"
        der_path.write_bytes(response.content)
        converted = _openssl(
            "crl", "-inform", "DER", "-in", der_path, "-outform", "PEM", "-out", pem_path
        )
        assert converted.returncode == 0, converted.stderr
        return response.content, pem_path

    def verify(self) -> subprocess.CompletedProcess[str]:
        _, crl = self.fetch_crl()
        return _openssl(
            "verify",
            "-crl_check",
            "-attime",
            self.attime,
            "-CAfile",
            self.root,
            "-untrusted",
            self.issuing_pem,
            "-CRLfile",
            crl,
            self.leaf_pem,
        )

    def openssl_ocsp(self, *options: str) -> subprocess.CompletedProcess[str]:
        return _openssl(
            "ocsp",
            "-issuer",
            self.issuing_pem,
            "-cert",
            self.leaf_pem,
            "-url",
            f"{self.env.url}/ocsp",
            "-CAfile",
            self.root,
            "-attime",
            self.attime,
            "-validity_period",
            OPENSSL_CLOCK_TOLERANCE,
            *options,
        )

    def ocsp_get(self, nonce: bytes | None) -> ocsp.OCSPResponse:
        """OCSP over HTTP GET (RFC 6960 appendix A.1): base64 DER, URL-encoded, in the path."""
        builder = ocsp.OCSPRequestBuilder().add_certificate(self.leaf, self.issuing, hashes.SHA1())
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        der = builder.build().public_bytes(serialization.Encoding.DER)
        encoded = urllib.parse.quote(base64.b64encode(der).decode("ascii"), safe="")
        response = httpx.get(f"{self.env.url}/ocsp/{encoded}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/ocsp-response"
        return ocsp.load_der_ocsp_response(response.content)


def _issue_and_trust(
    actors: Actors, tmp_path: Path
) -> tuple[TestEid, IssuedCertificate, _RelyingParty]:
    actors.add_provider()
    eid = actors.eid()
    issued = actors.request(eid, 0)
    return eid, issued, _RelyingParty(actors.env, tmp_path, issued.certificate)


def _nonce_of(response: ocsp.OCSPResponse) -> bytes | None:
    for extension in response.extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            return extension.value.nonce
    return None


def test_openssl_verify_with_crl_then_revoked(actors: Actors, tmp_path: Path) -> None:
    eid, issued, party = _issue_and_trust(actors, tmp_path)

    accepted = party.verify()
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stdout.strip() == f"{party.leaf_pem}: OK"
    cached_der, _ = party.fetch_crl()
    assert party.fetch_crl()[0] == cached_der  # nothing changed: the cached CRL is served

    with actors.env.client() as client:
        revoke_with_eid(client, eid.credential, issued.serial, "keyCompromise")

    revoked_der, _ = party.fetch_crl()
    assert revoked_der != cached_der
    crl = x509.load_der_x509_crl(revoked_der)
    entry = crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    refused = party.verify()
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_openssl_ocsp_good_then_revoked_with_and_without_nonce(
    actors: Actors, tmp_path: Path
) -> None:
    eid, issued, party = _issue_and_trust(actors, tmp_path)

    with_nonce = party.openssl_ocsp("-nonce")
    cached = party.openssl_ocsp("-no_nonce")  # this answer is stored and reused until a change
    get_answer = party.ocsp_get(None)

    for result in (with_nonce, cached):
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{party.leaf_pem}: good" in result.stdout
        assert "Response verify OK" in result.stderr
    assert "WARNING: no nonce in response" not in with_nonce.stdout + with_nonce.stderr
    assert get_answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert get_answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert get_answer.serial_number == issued.certificate.serial_number
    # The answer without a nonce is the cached one, byte for byte, until something changes.
    assert party.ocsp_get(None).public_bytes(serialization.Encoding.DER) == (
        get_answer.public_bytes(serialization.Encoding.DER)
    )
    with actors.env.platform.database.session() as session:
        assert OcspCache(session).get(issued.serial, actors.env.clock.now()) is not None

    with actors.env.client() as client:
        revoke_with_eid(client, eid.credential, issued.serial, "keyCompromise")

    for options in (("-nonce",), ("-no_nonce",)):
        result = party.openssl_ocsp(*options)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{party.leaf_pem}: revoked" in result.stdout
        assert "Reason: keyCompromise" in result.stdout
        assert "Response verify OK" in result.stderr
    revoked_get = party.ocsp_get(None)
    assert revoked_get.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked_get.revocation_reason is x509.ReasonFlags.key_compromise


def test_ocsp_over_get_echoes_the_nonce(actors: Actors, tmp_path: Path) -> None:
    _, issued, party = _issue_and_trust(actors, tmp_path)
    nonce = b"ehcert-get-nonce-" + bytes(range(0xF0, 0x100))

    answer = party.ocsp_get(nonce)

    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == issued.certificate.serial_number
    assert _nonce_of(answer) == nonce
    assert _nonce_of(party.ocsp_get(None)) is None
    assert answer.certificates[0].extensions.get_extension_for_class(x509.OCSPNoCheck)
