"""A CA whose keys live in an HSM (SoftHSM2 through PKCS#11), end to end.

`init` generates the root, issuing, OCSP and test eID CA keys on the token (never in a
file); the platform then issues a doctor's certificate over HTTP and answers OCSP, all
signed inside the token.
"""

from __future__ import annotations

import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.core.clock import FixedClock
from ehcert.manager.certificates import request_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki import pkcs11
from ehcert.pki.keystore import read_keystore_file
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def test_ca_keys_on_softhsm_issue_and_answer_ocsp(
    softhsm_conf_dir: Path, tmp_path: Path, serve, loopback: tuple[socket.socket, str]
) -> None:
    import datetime as dt

    pkcs11.init_softhsm_token("ehcert-ca", "so-pin-1234", "ca-pin-5678", softhsm_conf_dir)
    pin_file = tmp_path / "hsm-pin"
    pin_file.write_text("ca-pin-5678\n")
    sock, url = loopback
    clock = FixedClock(dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC))
    settings = Settings(
        data_dir=tmp_path / "data",
        public_url=url,
        pkcs11_module=MODULE,
        pkcs11_token_label="ehcert-ca",
        pkcs11_pin_file=pin_file,
    )
    platform = Platform.open(settings, clock)
    assert not list((tmp_path / "data" / "pki" / "acceptance").glob("*.key"))
    labels = {label for label, _ in pkcs11.find_certificates(MODULE, "ehcert-ca", "ca-pin-5678")}
    assert labels == set()  # keys only: certificates live in the data directory
    token_key = pkcs11.Pkcs11Signer(MODULE, "ehcert-ca", "ehcert-acceptance-issuing", "ca-pin-5678")
    assert token_key.public_key() == platform.hierarchy.issuing.certificate.public_key()

    RegistryService(platform.database).add_provider(
        "79021802145", None, "doctor", "Bryan", "Brouckaert", now=clock.now()
    )
    eid_path = tmp_path / "eid.p12"
    issue_test_eid(platform, "79021802145", "1234", out=eid_path)
    with serve(platform, sock), platform_client(url) as client:
        keystore_path = request_certificate(
            client,
            Pkcs12EidCredential.from_file(eid_path, "1234"),
            institution=None,
            application_id=None,
            out_dir=tmp_path / "ks",
            password="correct horse battery staple",
            now=clock.now(),
        )
        leaf = (
            read_keystore_file(keystore_path, "correct horse battery staple")
            .authentication()
            .certificate
        )
        issuing = platform.hierarchy.issuing.certificate
        leaf.verify_directly_issued_by(issuing)
        request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuing, hashes.SHA1()).build()
        answer = client._http.post(
            f"{url}/ocsp",
            content=request.public_bytes(serialization.Encoding.DER),
            headers={"Content-Type": "application/ocsp-request"},
        )
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    responder = platform.hierarchy.ocsp.certificate
    assert isinstance(responder, x509.Certificate)
    responder.verify_directly_issued_by(issuing)
    platform.database.dispose()


def platform_client(url: str):
    from ehcert.client.platform import PlatformClient

    return PlatformClient(url)
