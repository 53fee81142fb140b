"""The platform over HTTP under load: OCSP and ETK lookups against same-run baselines.

A platform is populated in-process (50 providers with certificates and ETKs, 10 of them
revoked), then served by ``ehcert serve`` as a real process and loaded with ``wrk`` on
127.0.0.1 (``bench/loadgen.py``). Baselines measured in the same run:

- the same server's raw ceiling: ``GET /health``, a fixed answer;
- ``openssl ocsp -index -port`` answering for the same CA and the same serials (good,
  revoked and unknown), signing with an RSA-2048 key as the platform's responder does.

    .venv/bin/python bench/bench_http.py [--seconds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issuance import issue_all, prepared_requests, signature_limit
from harness import Figure, machine, record
from loadgen import Load, post_each, wrk

from ehcert.api.app import create_app
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.platform import PlatformClient
from ehcert.manager.certificates import request_certificate
from ehcert.manager.revocation import revoke_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki.ocsp_status import cert_id_hashes
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.db import Database, sqlite_url
from ehcert.store.models import CertificateRow
from ehcert.store.testing import example_ssin, temporary_postgresql_database

PASSWORD = "Bench-keystore-2026!"
HOLDERS, REVOKED = 50, 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def populate(data_dir: Path, port: int) -> list[str]:
    """Providers with certificates and ETKs, some revoked; their SSINs."""
    settings = Settings(data_dir=data_dir, public_url=f"http://127.0.0.1:{port}")
    platform = Platform.open(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform.edge), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    ssins = [example_ssin(7000 + index) for index in range(HOLDERS)]
    registry = RegistryService(platform.database)
    try:
        with PlatformClient(settings.base_url) as client:
            for index, ssin in enumerate(ssins):
                registry.add_provider(
                    ssin, None, "doctor", "Bench", f"Holder{index}", now=platform.now()
                )
                eid_file = data_dir / f"eid-{ssin}.p12"
                issue_test_eid(platform, ssin, "1234", out=eid_file)
                keystore = request_certificate(
                    client,
                    Pkcs12EidCredential.from_file(eid_file, "1234"),
                    institution=None,
                    application_id=None,
                    out_dir=data_dir / "keystores",
                    password=PASSWORD,
                    now=platform.now(),
                )
                if index < REVOKED:
                    revoke_certificate(client, keystore, PASSWORD, "keyCompromise")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        platform.database.dispose()
    return ssins


@contextmanager
def served(
    data_dir: Path,
    port: int,
    *,
    db: str | None = None,
    workers: int = 1,
    cpus: str | None = None,
) -> Iterator[str]:
    """``ehcert serve`` on ``port`` as a real process: on ``db`` when given, with
    ``workers`` API processes, pinned to ``cpus`` (a ``taskset -c`` list) when given."""
    url = f"http://127.0.0.1:{port}"
    log = (data_dir / "serve.log").open("wb")
    command = [
        *(["taskset", "-c", cpus] if cpus else []),
        sys.executable,
        "-m",
        "ehcert.cli.main",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--workers",
        str(workers),
        *(["--db", db] if db else []),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "serve.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def issued(data_dir: Path) -> list[CertificateRow]:
    """Every certificate the platform in ``data_dir`` issued (its SQLite database)."""
    database = Database(sqlite_url(data_dir / "ehcert.db"))
    try:
        with database.session() as session:
            rows = list(session.scalars(select(CertificateRow)))
            session.expunge_all()
            return rows
    finally:
        database.dispose()


def ocsp_requests(issuer: x509.Certificate, serials: list[int]) -> list[bytes]:
    """One DER OCSP request (SHA-1 CertID, no nonce) per serial."""
    name_hash, key_hash = cert_id_hashes(issuer, hashes.SHA1())
    return [
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
        for serial in serials
    ]


def with_nonce(issuer: x509.Certificate, serial: int) -> bytes:
    name_hash, key_hash = cert_id_hashes(issuer, hashes.SHA1())
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())
        .add_extension(x509.OCSPNonce(os.urandom(16)), critical=False)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


@contextmanager
def openssl_responder(
    directory: Path, issuer: x509.Certificate, data_dir: Path, port: int
) -> Iterator[str]:
    """``openssl ocsp -index -port`` for the platform's issuing CA and serials."""
    lines = []
    for row in issued(data_dir):
        expiry = row.not_after.strftime("%y%m%d%H%M%SZ")
        serial = row.serial_hex.upper()
        serial = serial if len(serial) % 2 == 0 else "0" + serial
        if row.status == "revoked" and row.revoked_at is not None:
            revoked = row.revoked_at.strftime("%y%m%d%H%M%SZ") + ",keyCompromise"
            lines.append(f"R\t{expiry}\t{revoked}\t{serial}\tunknown\t/CN={serial}")
        else:
            lines.append(f"V\t{expiry}\t\t{serial}\tunknown\t/CN={serial}")
    (directory / "index.txt").write_text("\n".join(lines) + "\n")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openssl bench responder")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (directory / "responder.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "responder.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "issuing.pem").write_bytes(issuer.public_bytes(serialization.Encoding.PEM))
    process = subprocess.Popen(
        [
            "openssl",
            "ocsp",
            "-index",
            str(directory / "index.txt"),
            "-port",
            str(port),
            "-rsigner",
            str(directory / "responder.pem"),
            "-rkey",
            str(directory / "responder.key"),
            "-CA",
            str(directory / "issuing.pem"),
            "-nmin",
            "60",
            "-ignore_err",
            # wrk opens a probe connection it never writes to; a single responder process
            # would wait on it forever, so a second one serves (one at a time, as one).
            "-multi",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "openssl-ocsp.log").open("wb"),
    )
    try:
        time.sleep(1.0)
        if process.poll() is not None:
            log = (directory / "openssl-ocsp.log").read_text(errors="replace")
            raise RuntimeError(f"openssl ocsp did not start:\n{log}")
        yield f"http://127.0.0.1:{port}/"
    finally:
        # -multi: the parent and its responder children
        subprocess.run(["pkill", "-TERM", "-P", str(process.pid)], check=False)
        process.terminate()
        process.wait(timeout=10)


def _ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _distinct_serials(url: str) -> tuple[int, int]:
    """How many certificates the database holds, and how many distinct serials."""
    database = Database(url)
    try:
        with database.session() as session:
            total, distinct = session.execute(
                text("SELECT count(*), count(DISTINCT serial_hex) FROM certificates")
            ).one()
            return int(total), int(distinct)
    finally:
        database.dispose()


def _audit_verified(data_dir: Path, url: str) -> str:
    verified = subprocess.run(
        [sys.executable, "-m", "ehcert.cli.main", "admin", "audit", "verify",
         "--data-dir", str(data_dir), "--db", url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if verified.returncode != 0:
        raise RuntimeError(f"audit verify failed: {verified.stdout}{verified.stderr}")
    return verified.stdout.strip()


def scale_out(requests: int, seconds: int, connections: int, layouts: list[str]) -> None:
    """Issuance and OCSP with one API process against two, on one PostgreSQL.

    ``layouts``: where the server and the load generator run, as ``server/loadgen``
    CPU lists (``taskset -c``): ``0/1`` gives the server one core and the load its own,
    ``0,1/1`` lets the server use both. The issuance requests are signed beforehand
    (an EC P-256 key per CSR, whose generation costs nothing; the CA still signs with
    its RSA key), each with a nonce of its own, and sent once each (``loadgen.post_each``).
    """
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-scale-out-") as temporary:
        directory = Path(temporary)
        with temporary_postgresql_database() as url:
            data_dir = directory / "platform"
            port = free_port()
            settings = Settings(data_dir=data_dir, db=url, public_url=f"http://127.0.0.1:{port}")
            platform = Platform.open(settings)
            issuer = platform.hierarchy.issuing.certificate
            bodies = prepared_requests(platform, 5, directory, _ec_key)  # the doctor's first
            issue_all(platform, bodies)
            serials = [int(r.serial_hex, 16) for r in _rows(platform)]
            mix = ocsp_requests(issuer, [*serials, 0x7E57AB1E])
            nonced = [with_nonce(issuer, serial) for serial in serials * 20]
            for layout in layouts:
                server_cpus, load_cpus = layout.split("/")
                found: dict[int, tuple[Load, Load, Load]] = {}
                for workers in (1, 2):
                    signed = prepared_requests(platform, requests, directory, _ec_key)
                    with served(data_dir, port, db=url, workers=workers, cpus=server_cpus) as base:
                        os.sched_setaffinity(0, {int(c) for c in load_cpus.split(",")})
                        try:
                            post_each(f"{base}/v1/certificates", signed[:10], connections=2)
                            issuance = post_each(
                                f"{base}/v1/certificates", signed[10:], connections=connections
                            )
                        finally:
                            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
                        load = {"seconds": seconds, "connections": 16, "cpus": load_cpus}
                        cached = wrk(
                            f"{base}/ocsp",
                            bodies=mix,
                            content_type="application/ocsp-request",
                            **load,
                        )
                        signed_ocsp = wrk(
                            f"{base}/ocsp",
                            bodies=nonced,
                            content_type="application/ocsp-request",
                            **load,
                        )
                    found[workers] = (issuance, cached, signed_ocsp)
                    print(f"  {layout} workers={workers}: issuance {issuance}, OCSP cached "
                          f"{cached}, OCSP nonce {signed_ocsp}", flush=True)  # fmt: skip
                _report_scale_out(layout, found, signature_limit(platform))
            platform.database.dispose()
            total, distinct = _distinct_serials(url)
            audit = _audit_verified(data_dir, url)
            print(f"certificates: {total}, distinct serials: {distinct}; {audit}")
            if total != distinct:
                raise RuntimeError("duplicate serial numbers")


def _rows(platform: Platform) -> list[CertificateRow]:
    with platform.unit_of_work() as session:
        rows = list(session.scalars(select(CertificateRow)))
        session.expunge_all()
        return rows


def _report_scale_out(layout: str, found: dict[int, tuple[Load, Load, Load]], limit: float) -> None:
    server, loadgen = layout.split("/")
    where = f"server on CPU {server}, load on CPU {loadgen}"
    for workers, (issuance, _, _) in found.items():
        record(
            Figure(
                "scale-out", f"issuance over HTTP, PostgreSQL, {workers} API process(es) ({where})",
                issuance.rate, "/s", "issuing CA signatures", limit, target=0.4,
                note=f"p50 {issuance.p50_ms:.1f} ms, p99 {issuance.p99_ms:.1f} ms",
            )
        )  # fmt: skip
    for position, name in enumerate(("issuance", "OCSP POST cached", "OCSP POST with nonce")):
        one, two = found[1][position], found[2][position]
        record(
            Figure(
                "scale-out", f"{name}, 2 API processes ({where})", two.rate, "/s",
                "1 API process", one.rate, target=1.6,
                note=f"p99 {two.p99_ms:.1f} ms against {one.p99_ms:.1f} ms; "
                f"non-2xx {two.non_2xx}/{one.non_2xx}",
            )
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="one API process against two on PostgreSQL (issuance, OCSP), and nothing else",
    )
    parser.add_argument("--requests", type=int, default=300, help="issuances per scale-out run")
    parser.add_argument(
        "--layout",
        action="append",
        help="server/loadgen CPU lists for the scale-out (default: 0/1 and 0,1/1)",
    )
    arguments = parser.parse_args()
    print(machine())
    if arguments.scale_out:
        scale_out(
            arguments.requests,
            arguments.seconds,
            arguments.connections,
            arguments.layout or ["0/1", "0,1/1"],
        )
        return
    load = {"seconds": arguments.seconds, "connections": arguments.connections}
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-http-") as temporary:
        directory = Path(temporary)
        data_dir = directory / "platform"
        port = free_port()
        print("populating the platform ...", flush=True)
        ssins = populate(data_dir, port)
        issuer = x509.load_pem_x509_certificate(
            (data_dir / "pki" / "acceptance" / "issuing.crt").read_bytes()
        )
        records = issued(data_dir)
        good = [int(r.serial_hex, 16) for r in records if r.status == "valid"][:5]
        revoked = [int(r.serial_hex, 16) for r in records if r.status == "revoked"][:5]
        mix = ocsp_requests(issuer, [*good, *revoked, 0x7E57AB1E])
        with openssl_responder(directory, issuer, data_dir, free_port()) as openssl_url:
            openssl = wrk(openssl_url, bodies=mix, content_type="application/ocsp-request", **load)
            print(f"openssl ocsp: {openssl}", flush=True)
        with served(data_dir, port) as url:
            ceiling = wrk(f"{url}/health", **load)
            print(f"raw ceiling: {ceiling}", flush=True)
            scripted = wrk(f"{url}/health", scripted_get=True, **load)
            print(f"raw ceiling, requests built by a wrk script: {scripted}", flush=True)
            one_url = f"{url}/v1/etk?id={quote('SSIN=' + ssins[-1])}"
            fifty_url = f"{url}/v1/etk?" + "&".join(f"id={quote('SSIN=' + s)}" for s in ssins)
            warm_up(url, [one_url, fifty_url], mix)
            one = wrk(one_url, **load)
            fifty = wrk(fifty_url, **load)
            fifty_answer = httpx.get(fifty_url)
            etag, fifty_bytes = fifty_answer.headers["etag"], len(fifty_answer.content)
            revalidated = wrk(fifty_url, headers={"If-None-Match": etag}, **load)
            cached = wrk(f"{url}/ocsp", bodies=mix, content_type="application/ocsp-request", **load)
            nonced = wrk(
                f"{url}/ocsp",
                bodies=[with_nonce(issuer, serial) for serial in good * 20],
                content_type="application/ocsp-request",
                **load,
            )
            verified = verify_answers(directory, data_dir, url, mix)
        print(f"kept answers verified with openssl ocsp: {verified}")
        _report(ceiling, scripted, one, fifty, revalidated, cached, nonced, openssl, fifty_bytes)


def warm_up(url: str, lookups: list[str], mix: list[bytes]) -> None:
    """Ask each kept-answer question once before it is loaded: the figures are of kept
    answers (a first question is answered by the routes and kept; sixteen connections
    asking it at once before it is kept would all be answered by the routes)."""
    with httpx.Client(timeout=60) as client:
        for lookup in lookups:
            client.get(lookup).raise_for_status()
        for request in mix:
            client.post(
                f"{url}/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
            ).raise_for_status()


def verify_answers(directory: Path, data_dir: Path, url: str, mix: list[bytes]) -> int:
    """Each request of the mix answered once more (kept by now), every answer's signature
    and chain checked by ``openssl ocsp -respin``: the speed is of real answers."""
    pki = data_dir / "pki" / "acceptance"
    chain = directory / "ocsp-chain.pem"
    chain.write_bytes((pki / "root.crt").read_bytes() + (pki / "issuing.crt").read_bytes())
    for index, request in enumerate(mix):
        answer = httpx.post(
            f"{url}/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
        )
        path = directory / f"answer-{index}.der"
        path.write_bytes(answer.content)
        checked = subprocess.run(
            ["openssl", "ocsp", "-respin", str(path), "-CAfile", str(chain), "-resp_text"],
            capture_output=True,
            text=True,
            check=False,
        )
        if checked.returncode != 0 or "Response verify OK" not in checked.stderr:
            raise RuntimeError(f"openssl refused answer {index}: {checked.stderr.strip()}")
    return len(mix)


def _report(
    ceiling: Load,
    scripted: Load,
    one: Load,
    fifty: Load,
    revalidated: Load,
    cached: Load,
    nonced: Load,
    openssl: Load,
    fifty_bytes: int,
) -> None:
    def figure(
        name: str,
        measured: Load,
        baseline_name: str,
        baseline: Load,
        target: float | None,
        also: str = "",
    ) -> None:
        record(
            Figure(
                "http",
                name,
                measured.rate,
                "/s",
                baseline_name,
                baseline.rate,
                target=target,
                note=f"p50 {measured.p50_ms:.2f} ms, p99 "
                f"{measured.p99_ms:.2f} ms, non-2xx {measured.non_2xx}{also}",
            )
        )

    figure("ETK lookup, 1 id", one, "raw ceiling (/health)", ceiling, 0.5)
    throughput = fifty.rate * fifty_bytes / 1e9
    figure(
        "ETK lookup, 50 ids",
        fifty,
        "raw ceiling (/health)",
        ceiling,
        0.5,
        f"; answers of {fifty_bytes / 1000:.0f} KB, {throughput:.2f} GB/s through loopback",
    )
    figure("ETK lookup, 50 ids, revalidated (304)", revalidated, "raw ceiling", ceiling, None)
    figure("OCSP POST, cached, no nonce", cached, "openssl ocsp -index -port", openssl, 5.0)
    figure(
        "OCSP POST, cached, no nonce (ceiling)",
        cached,
        "raw ceiling (/health, scripted requests)",
        scripted,
        0.8,
    )
    figure("OCSP POST with nonce (signed each)", nonced, "openssl ocsp -index -port", openssl, None)
    for name, load in (
        ("ceiling", ceiling),
        ("scripted", scripted),
        ("1 id", one),
        ("50 ids", fifty),
        ("50 ids, 304", revalidated),
        ("OCSP cached", cached),
        ("OCSP nonce", nonced),
        ("openssl", openssl),
    ):
        print(
            f"  {name:12} {load.rate:9.0f}/s  p50 {load.p50_ms:6.2f} ms  "
            f"p99 {load.p99_ms:6.2f} ms  non-2xx {load.non_2xx}"
        )


if __name__ == "__main__":
    main()
