"""The root keys stay offline: a platform whose issuing key is online does all its daily
work with ``root.key`` and ``eid-root.key`` moved away from the data directory.

Request, ETK publication and lookup, STS token, OCSP (openssl-verified), renewal (at
which moment the OCSP responder certificate has been renewed too), revocation, the
issuing and citizen CAs' CRLs, and the root CRLs served from the files the ``init``
ceremony signed. Any attempt to open a root key would fail: its file is not there.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.sts import StsClient, verify_assertion
from ehcert.core.clock import FixedClock
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.revocation import revoke_certificate
from ehcert.pki.etk import parse_etk, verify_etk
from ehcert.pki.keystore import read_keystore_file
from ehcert.platform import Platform
from ehcert.settings import Settings

from .conftest import T0, Actors, RunningPlatform, ocsp_request, openssl_ocsp_check

RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, 0, tzinfo=dt.UTC)
HOLDER_SSIN = "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin"


def _ocsp(url: str, leaf: x509.Certificate, issuing: x509.Certificate) -> bytes:
    answer = httpx.post(
        f"{url}/ocsp",
        content=ocsp_request(leaf, issuing),
        headers={"Content-Type": "application/ocsp-request"},
    )
    assert answer.status_code == 200
    return answer.content


def test_daily_work_without_the_root_keys(
    ca_template: Path,
    tmp_path: Path,
    serve: Callable[[Platform, socket.socket], AbstractContextManager[None]],
    loopback: tuple[socket.socket, str],
    session_rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(ca_template, data_dir)
    pki = data_dir / "pki" / "acceptance"
    vault = tmp_path / "offline-vault"
    vault.mkdir()
    for name in ("root.key", "eid-root.key"):
        shutil.move(pki / name, vault / name)
    root_crl_file = (pki / "root.crl").read_bytes()
    eid_root_crl_file = (pki / "eid-root.crl").read_bytes()

    sock, url = loopback
    clock = FixedClock(T0)
    platform = Platform.open(Settings(data_dir=data_dir, public_url=url), clock, initialise=False)
    assert not hasattr(platform.hierarchy.root, "signer")
    env = RunningPlatform(platform, url, clock, data_dir, "sqlite")
    actors = Actors(env, tmp_path, session_rsa_keys)
    issuing = platform.hierarchy.issuing.certificate
    root = platform.hierarchy.root.certificate
    try:
        with serve(platform, sock):
            actors.add_provider()
            keystore_path = actors.keystore(actors.eid())
            current = read_keystore_file(keystore_path, actors.password).authentication()
            leaf = current.certificate

            with env.client() as client:
                published = client.etk(f"SSIN={actors.doctor}")
                anchors = client.ca_certificates()
            verdict = verify_etk(parse_etk(published.der), anchors=[anchors.root], at=T0)
            assert verdict.usable, verdict.reason

            with StsClient(url, KeyEntryRequestSigner(current), clock=clock) as sts:
                token = sts.token([HOLDER_SSIN])
            sts_certificate = x509.load_pem_x509_certificate(
                httpx.get(f"{url}/sts/certificate").content
            )
            verify_assertion(token.xml, sts_certificate, leaf, T0)

            good = openssl_ocsp_check(
                tmp_path / "ocsp-good",
                _ocsp(url, leaf, issuing),
                leaf=leaf, issuing=issuing, root=root, at=T0,
            )  # fmt: skip
            assert good.returncode == 0, good.stdout + good.stderr
            assert "Response verify OK" in good.stderr
            assert ": good" in good.stdout

            clock.set(RENEWAL_MOMENT)
            with env.client() as client:
                renewed_path = renew_certificate(
                    client, keystore_path, actors.password, RENEWAL_MOMENT
                )
                revoke_certificate(client, keystore_path, actors.password, "superseded")
            renewed = read_keystore_file(renewed_path, actors.password).authentication()
            assert renewed.certificate.not_valid_before_utc == RENEWAL_MOMENT

            revoked = openssl_ocsp_check(
                tmp_path / "ocsp-revoked",
                _ocsp(url, leaf, issuing),
                leaf=leaf, issuing=issuing, root=root, at=RENEWAL_MOMENT,
            )  # fmt: skip
            assert revoked.returncode == 0, revoked.stdout + revoked.stderr
            assert ": revoked" in revoked.stdout
            responder = platform.hierarchy.ocsp.certificate
            assert responder.not_valid_before_utc == RENEWAL_MOMENT  # renewed while running

            crls = {
                name: httpx.get(f"{url}/crl/{name}.crl").content
                for name in ("acceptance", "acceptance-eid")
            }
            for name in ("acceptance-root", "acceptance-eid-root"):
                crls[name] = httpx.get(f"{url}/crl/{name}.crl").content
    finally:
        platform.database.dispose()

    issuing_crl = x509.load_der_x509_crl(crls["acceptance"])
    assert issuing_crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert issuing_crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    assert issuing_crl.last_update_utc == RENEWAL_MOMENT
    assert crls["acceptance-root"] == root_crl_file
    assert x509.load_der_x509_crl(crls["acceptance-root"]).is_signature_valid(
        root.public_key()  # type: ignore[arg-type]
    )
    assert crls["acceptance-eid-root"] == eid_root_crl_file
    assert x509.load_der_x509_crl(crls["acceptance-eid"]).last_update_utc == RENEWAL_MOMENT
    assert not (pki / "root.key").exists()
    assert not (pki / "eid-root.key").exists()
