"""Password-based encryption and integrity for PKCS#12 files.

PKCS#12 (RFC 7292) protects a keystore twice with the same password: each private key and
the certificate list are *encrypted* (privacy), and the whole file carries a *MAC*
(integrity). Two generations of algorithms exist and eHealth keystores in the field use
the old one, so a reader needs both:

* legacy: ``pbeWithSHAAnd3-KeyTripleDES-CBC``, ``pbeWithSHAAnd40BitRC2-CBC`` and friends
  (RFC 7292 appendix C) with keys from the PKCS#12 KDF (RFC 7292 appendix B.2) over the
  password as a NUL-terminated BMPString; the MAC key comes from the same KDF;
* modern: PBES2 (RFC 8018 section 6.2) with PBKDF2 over the UTF-8 password, AES-CBC or
  3DES, as openssl 3 writes by default; and PBMAC1 (RFC 9579) for the MAC, read only.

What is written is PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, with an HMAC-SHA256 MAC
keyed by the RFC 7292 B.2 KDF (the openssl 3 default). PBMAC1 is not written because
openssl before 3.4 cannot verify it, and field tools must be able to open our files.
Only on request (:meth:`PasswordCipher.encrypt_legacy_3des`, ``build_mac_data(...,
hash_name="sha1")``) the legacy pair is written: ``pbeWithSHAAnd3-KeyTripleDES-CBC`` and
an HMAC-SHA1 MAC, both keyed by the B.2 KDF over the BMPString password, because Java
before 8u301 reads nothing else (:mod:`ehcert.pki.keystore` explains the choice).

RC2 with a 40-bit effective key cannot be expressed with ``cryptography``'s RC2 (which
only offers 128-bit keys), so :func:`rc2_cbc_decrypt` implements RFC 2268 decryption for
that case; it only ever decrypts, never protects new data.

:mod:`ehcert.pki.pkcs12_pfx` applies all this to a whole PFX (``open_pfx``/``seal_pfx``,
still importable from here) and :mod:`ehcert.pki.keystore` gives the bags their meaning.
"""

from __future__ import annotations

import hashlib
import os

from asn1crypto import algos, core, pkcs12
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ehcert.pki import pkcs12_kdf as kdf

# Far above any real keystore (openssl writes 2048, this package 600 000), low enough that
# a hostile file cannot make the reader spin for minutes.
MAX_ITERATIONS = 10_000_000

# RFC 7292 appendix B.3: the ID byte says what the KDF output is for.
_KDF_PURPOSE_KEY = 1
_KDF_PURPOSE_IV = 2
_KDF_PURPOSE_MAC = 3

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

# RFC 7292 appendix C: legacy scheme -> (cipher, key bytes, effective key bits, IV bytes).
_LEGACY_SCHEMES: dict[str, tuple[str, int, int]] = {
    "pkcs12_sha1_tripledes_3key": ("3des", 24, 8),
    "pkcs12_sha1_tripledes_2key": ("3des", 16, 8),
    "pkcs12_sha1_rc2_128": ("rc2", 16, 8),
    "pkcs12_sha1_rc2_40": ("rc2", 5, 8),
    "pkcs12_sha1_rc4_128": ("rc4", 16, 0),
    "pkcs12_sha1_rc4_40": ("rc4", 5, 0),
}

# RFC 8018 appendix B.2: PBES2 encryption schemes this reader accepts -> key bytes.
_PBES2_CIPHERS: dict[str, int] = {
    "aes128_cbc": 16,
    "aes192_cbc": 24,
    "aes256_cbc": 32,
    "tripledes_3key": 24,
}

_PBMAC1_OID = "1.2.840.113549.1.5.14"


class PbeError(Exception):
    """The algorithm or its parameters are unsupported or malformed."""


class DecryptionFailedError(Exception):
    """Decryption produced invalid padding: almost always the wrong password."""


class WrongPasswordError(Exception):
    """The MAC does not match, or (in a file without MAC) decryption fails."""


def bmp_password(password: str) -> bytes:
    """RFC 7292 appendix B.1: the password as a big-endian BMPString with a NUL terminator.

    Characters outside the BMP become UTF-16 surrogate pairs, as Java and openssl do.
    """
    return password.encode("utf-16-be") + b"\x00\x00"


def utf8_password(password: str) -> bytes:
    """RFC 8018 section 6.2 as used by PKCS#12 writers: PBKDF2 sees the UTF-8 bytes."""
    return password.encode("utf-8")


def pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, *, purpose: int, iterations: int, length: int
) -> bytes:
    """Derive ``length`` bytes with the PKCS#12 KDF (RFC 7292 appendix B.2).

    The iterated hashing is the cost of every keystore open at the default iteration
    count, so it runs in OpenSSL where it can (:mod:`ehcert.pki.pkcs12_kdf`).
    """
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise PbeError(f"iteration count {iterations} is out of range")
    if hash_name not in _HASHES:
        raise PbeError(f"hash {hash_name} is not supported")
    return kdf.pkcs12_kdf(
        hash_name, password, salt, purpose=purpose, iterations=iterations, length=length
    )


def _check_iterations(iterations: object) -> int:
    if not isinstance(iterations, int) or not 1 <= iterations <= MAX_ITERATIONS:
        raise PbeError(f"iteration count {iterations!r} is out of range")
    return iterations


def _unpad(block_bits: int, padded: bytes) -> bytes:
    unpadder = padding.PKCS7(block_bits).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise DecryptionFailedError("invalid padding after decryption") from error


def _cbc_decrypt(algorithm: BlockCipherAlgorithm, iv: bytes, ciphertext: bytes) -> bytes:
    block_bytes = algorithm.block_size // 8
    if len(iv) != block_bytes:
        raise PbeError("the initialisation vector has the wrong length")
    if not ciphertext or len(ciphertext) % block_bytes:
        raise PbeError("the ciphertext is not a whole number of cipher blocks")
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    return _unpad(algorithm.block_size, decryptor.update(ciphertext) + decryptor.finalize())


class PasswordCipher:
    """Decrypts (any supported scheme) and encrypts (PBES2/AES-256, or legacy 3DES on
    request) under one password.

    PBKDF2 results are cached per (salt, iterations, PRF, key length): files written by
    :func:`seal_pfx` share one salt across their bags, so a load pays for one derivation
    instead of one per key.
    """

    def __init__(self, password: str) -> None:
        try:
            self._bmp = bmp_password(password)
            self._utf8 = utf8_password(password)
        except UnicodeEncodeError as error:
            raise ValueError("password contains characters that cannot be encoded") from error
        self._pbkdf2_cache: dict[tuple[bytes, int, str, int], bytes] = {}

    def _pbkdf2(self, salt: bytes, iterations: int, prf: str, length: int) -> bytes:
        cache_key = (salt, iterations, prf, length)
        if cache_key not in self._pbkdf2_cache:
            kdf = PBKDF2HMAC(_HASHES[prf](), length, salt, iterations)
            self._pbkdf2_cache[cache_key] = kdf.derive(self._utf8)
        return self._pbkdf2_cache[cache_key]

    def decrypt(self, algorithm: algos.EncryptionAlgorithm, ciphertext: bytes) -> bytes:
        """Decrypt ``ciphertext``; PbeError if unusable, DecryptionFailedError if wrong."""
        name = algorithm["algorithm"].native
        if name == "pbes2":
            return self._decrypt_pbes2(algorithm["parameters"], ciphertext)
        if name in _LEGACY_SCHEMES:
            return self._decrypt_legacy(name, algorithm["parameters"], ciphertext)
        raise PbeError(f"encryption algorithm {algorithm['algorithm'].dotted} is not supported")

    def _decrypt_legacy(self, name: str, params: algos.Pbes1Params, ciphertext: bytes) -> bytes:
        cipher, key_length, iv_length = _LEGACY_SCHEMES[name]
        salt = params["salt"].native
        iterations = _check_iterations(params["iterations"].native)

        def derive(purpose: int, length: int) -> bytes:  # RFC 7292 C: always SHA-1
            return pkcs12_kdf(
                "sha1", self._bmp, salt, purpose=purpose, iterations=iterations, length=length
            )

        key = derive(_KDF_PURPOSE_KEY, key_length)
        if cipher == "rc4":
            decryptor = Cipher(decrepit.ARC4(key), mode=None).decryptor()
            return decryptor.update(ciphertext) + decryptor.finalize()
        iv = derive(_KDF_PURPOSE_IV, iv_length)
        if cipher == "3des":
            # Two-key 3DES is K1 K2 K1; spelled out as 24 bytes, the form cryptography keeps.
            three_keys = key + key[:8] if key_length == 16 else key
            return _cbc_decrypt(decrepit.TripleDES(three_keys), iv, ciphertext)
        if key_length == 16:
            return _cbc_decrypt(decrepit.RC2(key), iv, ciphertext)
        return rc2_cbc_decrypt(key, 8 * key_length, iv, ciphertext)

    def _decrypt_pbes2(self, params: algos.Pbes2Params, ciphertext: bytes) -> bytes:
        kdf = params["key_derivation_func"]
        if kdf["algorithm"].native != "pbkdf2":
            raise PbeError(f"PBES2 key derivation {kdf['algorithm'].dotted} is not supported")
        kdf_params = kdf["parameters"]
        if kdf_params["salt"].name != "specified":
            raise PbeError("PBKDF2 salt must be given as an octet string")
        prf = kdf_params["prf"]["algorithm"].native
        if prf not in _HASHES:
            raise PbeError(f"PBKDF2 pseudo-random function {prf} is not supported")
        scheme = params["encryption_scheme"]
        cipher_name = scheme["algorithm"].native
        if cipher_name not in _PBES2_CIPHERS:
            raise PbeError(f"PBES2 cipher {scheme['algorithm'].dotted} is not supported")
        key_length = _PBES2_CIPHERS[cipher_name]
        declared_length = kdf_params["key_length"].native
        if declared_length is not None and declared_length != key_length:
            raise PbeError("PBKDF2 key length does not match the cipher")
        iterations = _check_iterations(kdf_params["iteration_count"].native)
        key = self._pbkdf2(kdf_params["salt"].chosen.native, iterations, prf, key_length)
        iv = scheme["parameters"].native
        if not isinstance(iv, bytes):
            raise PbeError("PBES2 cipher parameters must be an initialisation vector")
        if cipher_name == "tripledes_3key":
            return _cbc_decrypt(decrepit.TripleDES(key), iv, ciphertext)
        return _cbc_decrypt(algorithms.AES(key), iv, ciphertext)

    def encrypt_pbes2_aes256(
        self, plaintext: bytes, *, salt: bytes, iterations: int
    ) -> tuple[algos.EncryptionAlgorithm, bytes]:
        """PBES2 + PBKDF2-HMAC-SHA256 + AES-256-CBC with a fresh random IV (RFC 8018 6.2)."""
        key = self._pbkdf2(salt, iterations, "sha256", 32)
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(padded) + encryptor.finalize()
        algorithm = algos.EncryptionAlgorithm(
            {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": core.OctetString(salt),
                            "iteration_count": iterations,
                            "prf": {"algorithm": "sha256", "parameters": core.Null()},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            }
        )
        return algorithm, ciphertext

    def encrypt_legacy_3des(
        self, plaintext: bytes, *, salt: bytes, iterations: int
    ) -> tuple[algos.EncryptionAlgorithm, bytes]:
        """pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C), for older readers only.

        Key and IV both come from the SHA-1 PKCS#12 KDF (appendix B.2, IDs 1 and 2) over
        the BMPString password, so the IV is fixed by the salt: a caller must give every
        encryption its own salt, or equal plaintext prefixes would show.
        """
        iterations = _check_iterations(iterations)

        def derive(purpose: int, length: int) -> bytes:
            return pkcs12_kdf(
                "sha1", self._bmp, salt, purpose=purpose, iterations=iterations, length=length
            )

        key = derive(_KDF_PURPOSE_KEY, 24)
        iv = derive(_KDF_PURPOSE_IV, 8)
        padder = padding.PKCS7(64).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(decrepit.TripleDES(key), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(padded) + encryptor.finalize()
        algorithm = algos.EncryptionAlgorithm(
            {
                "algorithm": "pkcs12_sha1_tripledes_3key",
                "parameters": {"salt": salt, "iterations": iterations},
            }
        )
        return algorithm, ciphertext


def _hmac(hash_name: str, key: bytes, content: bytes) -> hmac.HMAC:
    mac = hmac.HMAC(key, _HASHES[hash_name]())
    mac.update(content)
    return mac


def mac_matches(mac_data: pkcs12.MacData, password: str, content: bytes) -> bool:
    """Verify the PFX MAC over the authenticated safe (RFC 7292 section 5.1, RFC 9579).

    An empty password is also tried without the BMPString terminator: both encodings of
    "no password" exist in the field (RFC 7292 appendix B.1 leaves it open).
    """
    digest_algorithm = mac_data["mac"]["digest_algorithm"]
    expected = mac_data["mac"]["digest"].native
    if digest_algorithm["algorithm"].dotted == _PBMAC1_OID:
        return _pbmac1_matches(digest_algorithm["parameters"], password, content, expected)
    hash_name = digest_algorithm["algorithm"].native
    if hash_name not in _HASHES:
        raise PbeError(f"MAC algorithm {digest_algorithm['algorithm'].dotted} is not supported")
    iterations = _check_iterations(mac_data["iterations"].native)
    salt = mac_data["mac_salt"].native
    candidates = [bmp_password(password)] + ([b""] if password == "" else [])
    for encoded in candidates:
        key_length = hashlib.new(hash_name).digest_size
        key = pkcs12_kdf(
            hash_name,
            encoded,
            salt,
            purpose=_KDF_PURPOSE_MAC,
            iterations=iterations,
            length=key_length,
        )
        try:
            _hmac(hash_name, key, content).verify(expected)
        except InvalidSignature:
            continue
        return True
    return False


def _pbmac1_matches(params: core.Any, password: str, content: bytes, expected: bytes) -> bool:
    """RFC 9579 section 4: PBMAC1 keyed by PBKDF2 over the UTF-8 password."""
    parsed = algos.Pbmac1Params.load(params.dump())
    kdf = parsed["key_derivation_func"]
    if kdf["algorithm"].native != "pbkdf2":
        raise PbeError("PBMAC1 must use PBKDF2")
    kdf_params = kdf["parameters"]
    prf = kdf_params["prf"]["algorithm"].native
    mac_hash = parsed["message_auth_scheme"]["algorithm"].native
    key_length = kdf_params["key_length"].native
    if prf not in _HASHES or mac_hash not in _HASHES or not isinstance(key_length, int):
        raise PbeError("PBMAC1 parameters are not supported")
    if not 1 <= key_length <= 64 or kdf_params["salt"].name != "specified":
        raise PbeError("PBMAC1 key length or salt is not usable")
    iterations = _check_iterations(kdf_params["iteration_count"].native)
    salt = kdf_params["salt"].chosen.native
    key = PBKDF2HMAC(_HASHES[prf](), key_length, salt, iterations).derive(utf8_password(password))
    try:
        _hmac(mac_hash, key, content).verify(expected)
    except InvalidSignature:
        return False
    return True


def build_mac_data(
    password: str, content: bytes, *, salt: bytes, iterations: int, hash_name: str = "sha256"
) -> pkcs12.MacData:
    """HMAC MacData keyed by the RFC 7292 B.2 KDF over the BMPString password.

    ``sha256`` is the openssl 3 default; ``sha1`` is the MAC every PKCS#12 reader
    verifies (Java before 8u301 knows only HmacPBESHA1). The key is as long as the hash
    output (RFC 7292 appendix B.4).
    """
    if hash_name not in ("sha1", "sha256"):
        raise ValueError("hash_name must be 'sha1' or 'sha256'")
    key = pkcs12_kdf(
        hash_name,
        bmp_password(password),
        salt,
        purpose=_KDF_PURPOSE_MAC,
        iterations=iterations,
        length=hashlib.new(hash_name).digest_size,
    )
    digest = _hmac(hash_name, key, content).finalize()
    return pkcs12.MacData(
        {
            "mac": {"digest_algorithm": {"algorithm": hash_name}, "digest": digest},
            "mac_salt": salt,
            "iterations": iterations,
        }
    )


# RFC 2268 section 2: the "random" permutation of 0..255 built from the digits of pi.
_PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)


def _rc2_expand_key(key: bytes, effective_bits: int) -> list[int]:
    """RFC 2268 section 2: expand ``key`` to 64 16-bit subkeys for ``effective_bits``."""
    expanded = list(key) + [0] * (128 - len(key))
    for i in range(len(key), 128):
        expanded[i] = _PITABLE[(expanded[i - 1] + expanded[i - len(key)]) & 0xFF]
    effective_bytes = (effective_bits + 7) // 8
    mask = 0xFF >> (8 * effective_bytes - effective_bits)
    expanded[128 - effective_bytes] = _PITABLE[expanded[128 - effective_bytes] & mask]
    for i in range(127 - effective_bytes, -1, -1):
        expanded[i] = _PITABLE[expanded[i + 1] ^ expanded[i + effective_bytes]]
    return [expanded[2 * i] | expanded[2 * i + 1] << 8 for i in range(64)]


def _rc2_decrypt_block(subkeys: list[int], block: bytes) -> bytes:
    """RFC 2268 section 4: five mixing, one mashing, six mixing, one mashing, five mixing,
    each undone in reverse order."""
    words = [block[2 * i] | block[2 * i + 1] << 8 for i in range(4)]
    shifts = (1, 2, 3, 5)
    j = 63
    for round_number in range(16):
        if round_number in (5, 11):
            for i in (3, 2, 1, 0):
                words[i] = (words[i] - subkeys[words[(i - 1) % 4] & 63]) & 0xFFFF
        for i in (3, 2, 1, 0):
            word = words[i]
            word = ((word >> shifts[i]) | (word << (16 - shifts[i]))) & 0xFFFF
            a, b, c = words[(i - 1) % 4], words[(i - 2) % 4], words[(i - 3) % 4]
            words[i] = (word - subkeys[j] - (a & b) - ((~a & 0xFFFF) & c)) & 0xFFFF
            j -= 1
    return b"".join(word.to_bytes(2, "little") for word in words)


def rc2_cbc_decrypt(key: bytes, effective_bits: int, iv: bytes, ciphertext: bytes) -> bytes:
    """RC2-CBC decryption with PKCS#7 unpadding, for effective key sizes RC2 in
    ``cryptography`` does not offer (RFC 2268; used by pbeWithSHAAnd40BitRC2-CBC)."""
    if len(iv) != 8:
        raise PbeError("the initialisation vector has the wrong length")
    if not ciphertext or len(ciphertext) % 8:
        raise PbeError("the ciphertext is not a whole number of cipher blocks")
    subkeys = _rc2_expand_key(key, effective_bits)
    previous = iv
    plaintext = bytearray()
    for offset in range(0, len(ciphertext), 8):
        block = ciphertext[offset : offset + 8]
        decrypted = _rc2_decrypt_block(subkeys, block)
        plaintext += bytes(x ^ y for x, y in zip(decrypted, previous, strict=True))
        previous = block
    return _unpad(64, bytes(plaintext))
