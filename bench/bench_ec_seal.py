"""Seal, unseal and seal+unseal with an EC P-384 sender and recipient, as bench_seal.py.

Run: .venv/bin/python bench/bench_ec_seal.py

The same figures as ``bench_seal.py`` (throughput against the ``openssl cms`` pipeline
with the same keys, peak memory per case in a child process, the 1 KB rate against the
public-key-operation bound), with eHealth's second-generation keys: ECDSA P-384 with
SHA-384 for both signatures and ephemeral-static ECDH (RFC 5753) for the content key.
At 1 KB the public-key operations dominate; at 10 MB and more AES and hashing do, and
the SHA-384 digests of the two signature layers cost more than SHA-256 on a CPU whose
SHA extensions accelerate SHA-256 only.
"""

from __future__ import annotations

from bench_seal import run


def main() -> None:
    run("EC P-384")


if __name__ == "__main__":
    main()
