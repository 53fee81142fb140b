"""The PKCS#12 key derivation function (RFC 7292 appendix B.2), in OpenSSL when it can be.

Every keystore open and write runs this KDF at least once (the MAC key; the legacy
3DES/RC2 bags' keys and IVs too), at 600 000 iterations for what this package writes. Its
core is ``iterations`` rounds of a plain hash over the previous digest, which neither
``hashlib`` nor ``cryptography`` offers as one call: done in Python, one round costs a
call into ``hashlib`` and the KDF takes about a quarter of a second; in C it takes a third
of that. So :func:`pkcs12_kdf` calls OpenSSL's own ``PKCS12_key_gen_uni`` in the
``libcrypto`` that Python's ``hashlib`` is linked with (ctypes), and keeps the plain
Python implementation (:func:`python_pkcs12_kdf`) for a Python without it.

``cryptography`` does not expose this KDF, and it is not a new dependency: the library is
the one already loaded for ``hashlib``. Before it is used, it must give the Python
implementation's bytes for a known input (a self-check at first use); if it does not, or
cannot be found, the Python one is used, with the same results, only slower.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import threading
from typing import Protocol

_HASH_NAMES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})


class _Kdf(Protocol):
    def __call__(
        self, hash_name: str, password: bytes, salt: bytes, *, purpose: int, iterations: int,
        length: int,
    ) -> bytes: ...  # fmt: skip


def python_pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, *, purpose: int, iterations: int, length: int
) -> bytes:
    """RFC 7292 appendix B.2, step by step, over ``hashlib``.

    ``password`` is already encoded (the NUL-terminated BMPString of appendix B.1, or as
    the caller's format says); ``purpose`` is the ID byte of appendix B.3.
    """
    new_hash = getattr(hashlib, hash_name)  # the direct constructor: 2x faster than new()
    u: int = new_hash().digest_size
    v: int = new_hash().block_size
    diversifier = bytes([purpose]) * v

    def stretch(data: bytes) -> bytes:
        if not data:
            return b""
        size = v * -(-len(data) // v)
        return (data * (size // len(data) + 1))[:size]

    block_input = stretch(salt) + stretch(password)
    output = b""
    while True:
        digest: bytes = new_hash(diversifier + block_input).digest()
        for _ in range(iterations - 1):
            digest = new_hash(digest).digest()
        output += digest
        if len(output) >= length:
            return output[:length]
        increment = int.from_bytes((digest * (v // u + 1))[:v], "big") + 1
        modulus = 1 << (8 * v)
        block_input = b"".join(
            ((int.from_bytes(block_input[j : j + v], "big") + increment) % modulus).to_bytes(
                v, "big"
            )
            for j in range(0, len(block_input), v)
        )


class _OpenSslKdf:
    """``PKCS12_key_gen_uni`` of the ``libcrypto`` already in this process."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._digest_by_name = library.EVP_get_digestbyname
        self._digest_by_name.argtypes = [ctypes.c_char_p]
        self._digest_by_name.restype = ctypes.c_void_p
        self._key_gen = library.PKCS12_key_gen_uni
        self._key_gen.argtypes = [
            ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
        ]  # fmt: skip
        self._key_gen.restype = ctypes.c_int
        self._digests = {name: self._digest_by_name(name.encode()) for name in _HASH_NAMES}

    def __call__(
        self, hash_name: str, password: bytes, salt: bytes, *, purpose: int, iterations: int,
        length: int,
    ) -> bytes:  # fmt: skip
        """The KDF in OpenSSL; in Python for what OpenSSL refuses (an empty salt)."""
        digest = self._digests[hash_name]
        out = ctypes.create_string_buffer(length)
        if digest and self._key_gen(
            password, len(password), salt, len(salt), purpose, iterations, length, out, digest
        ) == 1:  # fmt: skip
            return out.raw
        return python_pkcs12_kdf(
            hash_name, password, salt, purpose=purpose, iterations=iterations, length=length
        )


def _load_openssl() -> _Kdf | None:
    """OpenSSL's KDF if it is there and agrees with the Python one on a known input."""
    import _hashlib  # the C module whose libcrypto is already loaded

    candidates = [ctypes.util.find_library("crypto"), getattr(_hashlib, "__file__", None)]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            kdf = _OpenSslKdf(ctypes.CDLL(candidate))
        except (OSError, AttributeError):
            continue
        password, salt = b"\x00p\x00w\x00\x00", b"salt-of-16-bytes"
        ours = python_pkcs12_kdf("sha256", password, salt, purpose=3, iterations=2049, length=40)
        if kdf("sha256", password, salt, purpose=3, iterations=2049, length=40) == ours:
            return kdf
    return None


_chosen: list[_Kdf] = []
_choosing = threading.Lock()


def pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, *, purpose: int, iterations: int, length: int
) -> bytes:
    """RFC 7292 appendix B.2: ``length`` bytes for ``purpose`` (module docstring)."""
    if hash_name not in _HASH_NAMES:
        raise ValueError(f"hash {hash_name} is not supported")
    if not _chosen:
        with _choosing:
            if not _chosen:
                _chosen.append(_load_openssl() or python_pkcs12_kdf)
    return _chosen[0](
        hash_name, password, salt, purpose=purpose, iterations=iterations, length=length
    )


def uses_openssl() -> bool:
    """Whether :func:`pkcs12_kdf` runs in OpenSSL."""
    pkcs12_kdf("sha1", b"\x00\x00", b"salt", purpose=1, iterations=1, length=1)
    return _chosen[0] is not python_pkcs12_kdf
