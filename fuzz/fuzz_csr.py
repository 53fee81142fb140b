"""Fuzz target: certificate signing requests (PKCS#10, PEM or DER), as posted to
``POST /v1/certificates``. Refusals: ``EhcertError`` BAD_CSR or BAD_KEY (``pki/csr.py``).
"""

from __future__ import annotations

from fuzzing import main, refused_clearly

from ehcert.pki.csr import check_csr


def one_input(data: bytes) -> None:
    with refused_clearly():
        check_csr(data)


if __name__ == "__main__":
    main("csr")
