"""Fuzz target: PKCS#12 keystores (legacy eHealth and modern PBES2 files), as read from
disk by the Certificate Manager and the SDK (``pki/keystore.py``, ``pki/pkcs12_pfx.py``,
``pki/pkcs12_pbe.py``). The corpus's keystores have the password ``test``.
Refusals: ``EhcertError`` MALFORMED, UNAUTHORIZED (password) or PAYLOAD_TOO_LARGE.
"""

from __future__ import annotations

from fuzzing import main, refused_clearly

from ehcert.pki.keystore import load_keystore

PASSWORD = "test"


def one_input(data: bytes) -> None:
    with refused_clearly():
        load_keystore(data, PASSWORD)


if __name__ == "__main__":
    main("pkcs12")
