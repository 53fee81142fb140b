"""Benchmark: certificate issuance while one client floods ``GET /v1/nonce``.

Runs a platform (SQLite, fresh data directory) over real HTTP, measures the median time
of a certificate request (eID-signed, CSR, CA signature, ledger, audit) alone, then while
``--flooders`` threads of another client address (127.0.0.2) ask for nonces as fast as
they can. With the
per-client limit (``nonce_rate_per_second``, ``nonce_burst``) the flood is answered 429
and issuance keeps its pace; ``--no-limit`` shows what it was without one.

    .venv/bin/python bench/bench_nonce_flood.py --requests 20 --flooders 4
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.api.app import create_app
from ehcert.client.eid import Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner, build_csr
from ehcert.client.platform import PlatformClient
from ehcert.core.clock import SystemClock
from ehcert.operations import issue_test_eid
from ehcert.platform import Platform
from ehcert.registry.service import RegistryService
from ehcert.settings import Settings

DOCTOR = "79021802145"
FLOODER_ADDRESS = "127.0.0.2"


def _serve(platform: Platform, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(platform.edge), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def _issuance_ms(url: str, signer: EidRequestSigner, keys: list[rsa.RSAPrivateKey]) -> list[float]:
    times = []
    with PlatformClient(url) as client:
        for key in keys:
            started = time.perf_counter()
            client.request_certificate(signer, build_csr(key))
            times.append((time.perf_counter() - started) * 1000)
    return times


def _flood(url: str, stop: threading.Event, counts: dict[int, int]) -> None:
    """Ask for nonces from another loopback address than the honest client's."""
    transport = httpx.HTTPTransport(local_address=FLOODER_ADDRESS)
    with httpx.Client(base_url=url, transport=transport) as client:
        while not stop.is_set():
            status = client.get("/v1/nonce").status_code
            counts[status] = counts.get(status, 0) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--flooders", type=int, default=4)
    parser.add_argument("--port", type=int, default=18_443)
    parser.add_argument("--no-limit", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        unlimited = {"nonce_rate_per_second": 10_000.0, "nonce_burst": 100_000}
        limits = unlimited if args.no_limit else {}
        settings = Settings(
            data_dir=base / "data",
            ca_passphrase_file=base / "secrets" / "ca-passphrase",
            public_url=f"http://127.0.0.1:{args.port}",
            **limits,
        )
        platform = Platform.open(settings, SystemClock())
        now = platform.now()
        RegistryService(platform.database).add_provider(
            DOCTOR, None, "doctor", "Bryan", "Brouckaert", status="validated", now=now
        )
        eid_path = base / f"eid-{secrets.token_hex(3)}.p12"
        issue_test_eid(platform, DOCTOR, "1234", out=eid_path)
        signer = EidRequestSigner(Pkcs12EidCredential.from_file(eid_path, "1234"))
        keys = [
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for _ in range(2 * args.requests)
        ]
        server = _serve(platform, args.port)
        url = settings.base_url
        try:
            alone = _issuance_ms(url, signer, keys[: args.requests])
            stop, counts = threading.Event(), {}
            flooders = [
                threading.Thread(target=_flood, args=(url, stop, counts))
                for _ in range(args.flooders)
            ]
            for thread in flooders:
                thread.start()
            try:
                started = time.perf_counter()
                flooded = _issuance_ms(url, signer, keys[args.requests :])
                elapsed = time.perf_counter() - started
            finally:
                stop.set()
                for thread in flooders:
                    thread.join()
        finally:
            server.should_exit = True
            platform.database.dispose()
    print(f"limit: {'off' if args.no_limit else 'on'} (flooders: {args.flooders})")
    print(f"issuance alone:   median {statistics.median(alone):7.1f} ms")
    print(f"issuance flooded: median {statistics.median(flooded):7.1f} ms")
    print(f"nonce answers during the flood ({elapsed:.1f} s): {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
