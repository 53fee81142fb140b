"""Private keys loaded from PKCS#8 bytes, each set of bytes checked once per process.

``cryptography`` checks an RSA private key when it loads one (OpenSSL's ``RSA_check_key``:
p and q prime, n = pq, the CRT values consistent). That check matters: a key with wrong
CRT values signs wrongly, and one such signature gives away the factorisation (the
Bellcore attack). It also costs about 90 ms for RSA-2048, paid at every keystore open,
where it is most of the time a keystore takes to open once its password is checked.

The check depends on nothing but the bytes, so bytes checked once need not be checked
again: :func:`load_checked_private_key` remembers the SHA-256 of every PKCS#8 encoding it
loaded with the check (and :func:`remember_checked` those this process serialised from
a key it holds, a key that was itself generated or loaded with the check), and loads
those again without it. Bytes never seen are always checked. Only digests are kept, a
bounded number, in this process's memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

MAX_REMEMBERED = 1024

_checked: OrderedDict[bytes, None] = OrderedDict()
_lock = threading.Lock()


def _digest(pkcs8_der: bytes) -> bytes:
    return hashlib.sha256(pkcs8_der).digest()


def remember_checked(pkcs8_der: bytes) -> None:
    """``pkcs8_der`` encodes a key this process already holds as a checked key object."""
    digest = _digest(pkcs8_der)
    with _lock:
        _checked[digest] = None
        _checked.move_to_end(digest)
        while len(_checked) > MAX_REMEMBERED:
            _checked.popitem(last=False)


def load_checked_private_key(pkcs8_der: bytes) -> PrivateKeyTypes:
    """The key of unencrypted PKCS#8 ``pkcs8_der``, checked unless these very bytes were.

    Raises what ``serialization.load_der_private_key`` raises for bytes it refuses.
    """
    digest = _digest(pkcs8_der)
    with _lock:
        seen = digest in _checked
    key = serialization.load_der_private_key(
        pkcs8_der, password=None, unsafe_skip_rsa_key_validation=seen
    )
    remember_checked(pkcs8_der)
    return key
