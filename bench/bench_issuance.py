"""Issuance in-process, on SQLite and PostgreSQL, against the signature-bound limit.

One issuance is what ``POST /v1/certificates`` does without the HTTP server: verify the
JWS and its eID chain (with the test citizen CA's revocation), spend the nonce, check the
registry, build and lint the certificate, sign it with the issuing CA, store it and its
audit record. Its natural limit is the one RSA signature by the issuing CA each
certificate needs; that rate, measured in the same run with the same key, is the
baseline. The requests (fresh nonces, new keys, JWS signed by a test eID) are made before
the clock starts: they are the client's work.

    .venv/bin/python bench/bench_issuance.py [--count 200]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Figure, machine, rate, record

from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, build_csr
from ehcert.operations import issue_test_eid
from ehcert.pki.jws import create_jws
from ehcert.pki.public_keys import PrivateKey
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings
from ehcert.store.testing import temporary_postgresql_database

DOCTOR = "79021802145"
PATH = "/v1/certificates"


@contextmanager
def platform_on(backend: str, directory: Path) -> Iterator[Platform]:
    with ExitStack() as stack:
        db = None
        if backend == "postgresql":
            db = stack.enter_context(temporary_postgresql_database())
        settings = Settings(
            data_dir=directory / backend, db=db, public_url="http://bench.ehcert.test"
        )
        platform = Platform.open(settings)
        stack.callback(platform.database.dispose)
        yield platform


def prepared_requests(
    platform: Platform,
    count: int,
    directory: Path,
    new_key: Callable[[], PrivateKey] | None = None,
) -> list[bytes]:
    """``count`` signed first-certificate requests, each with a fresh nonce and key
    (RSA 2048 unless ``new_key`` makes another kind)."""
    now = platform.now()
    registry = RegistryService(platform.database)
    if registry.find_provider(DOCTOR) is None:  # bench_scale asks more than once
        registry.add_provider(
            DOCTOR, None, "doctor", "Bryan", "Brouckaert", status="validated", now=now
        )
    eid_file = directory / f"eid-{platform.settings.data_dir.name}.p12"
    issue_test_eid(platform, DOCTOR, "1234", out=eid_file)
    signer = EidRequestSigner(Pkcs12EidCredential.from_file(eid_file, "1234"))
    bodies = []
    for _ in range(count):
        key = (
            new_key() if new_key else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        payload = b'{"csr":"%s"}' % _b64url(build_csr(key)).encode()
        nonce = platform.nonces.issue()
        jws = create_jws(
            payload,
            url=platform.settings.base_url + PATH,
            nonce=nonce,
            chain=signer.chain,
            sign=signer.sign,
        )
        bodies.append(_json(jws))
    return bodies


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(document: dict[str, str]) -> bytes:
    return json.dumps(document).encode("utf-8")


def issue_all(platform: Platform, bodies: list[bytes]) -> float:
    """Issue one certificate per body as the route does (in one transaction, with the
    next nonce for the answer's Replay-Nonce); the rate per second."""
    ports = platform.edge.ra
    start = time.perf_counter()
    for body in bodies:
        with ports.unit():
            identity, payload = ports.signed.authenticate(body, PATH)
            ports.certificates.request(
                identity, _csr(payload), payload.get("institution"), None, ports.now()
            )
            ports.new_nonce()  # the Replay-Nonce of the answer
    return len(bodies) / (time.perf_counter() - start)


def _csr(payload: dict[str, object]) -> bytes:
    text = str(payload["csr"])
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature_limit(platform: Platform) -> float:
    """Signatures per second of the issuing CA's key over a certificate-sized input."""
    signer = platform.hierarchy.issuing.signer
    tbs = bytes(1200)
    return rate(lambda: signer.sign(tbs), count=200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest calls")
    arguments = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="ehcert-bench-") as temporary:
        directory = Path(temporary)
        for backend in ("sqlite", "postgresql"):
            with platform_on(backend, directory) as platform:
                limit = signature_limit(platform)
                bodies = prepared_requests(platform, arguments.count, directory)
                warm, timed = bodies[:10], bodies[10:]
                issue_all(platform, warm)
                if arguments.profile:
                    profiler = cProfile.Profile()
                    profiler.enable()
                issued = issue_all(platform, timed)
                if arguments.profile:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                record(
                    Figure(
                        "issuance",
                        f"issuance in-process, {backend}",
                        issued,
                        "/s",
                        "issuing CA signatures",
                        limit,
                        target=0.6,
                    )
                )


if __name__ == "__main__":
    main()
