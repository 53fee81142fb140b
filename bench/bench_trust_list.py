"""Benchmark of the signed trust list: making one, serving one, a client accepting one.

Opens a platform on a fresh data directory (the CA keys are made once, not timed), then
times, each as the median of ``--runs``:

- ``publish``: a new list signed (``TrustListPublisher.publish``: read the CA folder,
  build the TS 119 612 document, one XAdES signature with a file key, write it); most
  of it is opening the encrypted key file (PBKDF2, ``pki.keyfile``), which is on purpose
  slow, and it happens only when the certificates change or ``NextUpdate`` nears;
- ``serve``: ``Platform.trust_list`` when nothing is due, the work behind each
  ``GET /v1/trust-list.xml`` (check the certificates against the newest list, read it);
- ``accept``: a client checking the newest list against the previous one
  (``TrustStore.check``: signature verified by signxml, fields read).

    .venv/bin/python bench/bench_trust_list.py --runs 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ehcert.client.trust_store import RootAnchor, TrustStore
from ehcert.core.clock import FixedClock
from ehcert.platform import Platform
from ehcert.settings import Settings

NOW = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)


def median_ms(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        platform = Platform.open(
            Settings(data_dir=data_dir, public_url="http://127.0.0.1:1"), FixedClock(NOW)
        )
        try:
            publisher = platform.trust_lists
            previous_document = platform.trust_list()
            store = TrustStore(data_dir / "client")
            root = RootAnchor.from_certificate(platform.hierarchy.root.certificate)
            previous = store.accept(previous_document, NOW, anchor=root)

            def publish() -> None:
                with publisher.directory.locked(exclusive=True):
                    publisher.publish(NOW)

            publish_ms = median_ms(args.runs, publish)
            newest = platform.trust_list()
            serve_ms = median_ms(args.runs, platform.trust_list)
            accept_ms = median_ms(args.runs, lambda: store.check(newest, previous, NOW))
        finally:
            platform.database.dispose()
    print(f"trust list of {len(newest)} bytes, median of {args.runs} runs:")
    print(f"  publish (sign and store a new list): {publish_ms:7.2f} ms")
    print(f"  serve (GET /v1/trust-list.xml, nothing due): {serve_ms:7.2f} ms")
    print(f"  accept (client verifies and reads it): {accept_ms:7.2f} ms")


if __name__ == "__main__":
    main()
