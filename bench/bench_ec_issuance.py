"""Certificate issuance with EC P-384 beside RSA-2048, in the same run.

Run: .venv/bin/python bench/bench_ec_issuance.py [COUNT]
For each key type a CA hierarchy of that type is created (``admin init --key-type``:
root and issuing CA keys of the type, so RSA-2048 is the baseline and EC P-384 the
hierarchy of eHealth's second-generation CA), then COUNT holders (default 20) are
issued certificates for keys of the same type. Two rates are printed per type:

- **issue**: what the platform does per request, CSR check (``pki.csr``) then prepare,
  pkilint and one CA signature (``CertificateAuthority.sign_authentication``);
- **keys**: what the Certificate Manager does first, the authentication and encryption
  key pairs and the CSR (``client.keys``).

The ratio EC P-384 / RSA-2048 of each rate is printed with the RSA-2048 baseline. No
target is asserted: the figure is there to be compared from run to run.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from ehcert.client.keys import build_csr, generate_key
from ehcert.core.clock import FixedClock
from ehcert.core.keys import KEY_TYPES
from ehcert.core.names import person_subject
from ehcert.pki.csr import check_csr
from ehcert.platform import Platform
from ehcert.settings import Settings

MOMENT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
TYPES = ("rsa-2048", "ec-p384")


def _rates(key_type: str, count: int, folder: Path) -> tuple[float, float]:
    settings = Settings(data_dir=folder / key_type, public_url="http://127.0.0.1:1")
    platform = Platform.open(settings, FixedClock(MOMENT), key_type=KEY_TYPES[key_type])
    try:
        start = time.perf_counter()
        csrs = []
        for _ in range(count):
            key = generate_key(key_type)
            generate_key(key_type)  # the encryption key
            csrs.append(build_csr(key))
        keys_time = time.perf_counter() - start
        subject = person_subject("79021802145", "Bryan", "Brouckaert")
        start = time.perf_counter()
        for serial, csr in enumerate(csrs, start=1000):
            platform.ca.sign_authentication(subject, check_csr(csr), serial, MOMENT)
        issue_time = time.perf_counter() - start
    finally:
        platform.database.dispose()
    return count / issue_time, count / keys_time


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as folder:
        rates = {key_type: _rates(key_type, count, Path(folder)) for key_type in TYPES}
    print(f"{count} holders per key type")
    print(f"{'key type':<10} {'issue/s':>9} {'keys+CSR/s':>11}")
    for key_type, (issue, keys) in rates.items():
        print(f"{key_type:<10} {issue:>9.1f} {keys:>11.1f}")
    (rsa_issue, rsa_keys), (ec_issue, ec_keys) = rates["rsa-2048"], rates["ec-p384"]
    print(
        f"ratio ec-p384/rsa-2048: issue {ec_issue / rsa_issue:.2f}x "
        f"(baseline rsa-2048 {rsa_issue:.1f}/s), keys+CSR {ec_keys / rsa_keys:.2f}x "
        f"(baseline rsa-2048 {rsa_keys:.1f}/s)"
    )


if __name__ == "__main__":
    main()
