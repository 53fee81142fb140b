"""Key pairs and certificate signing requests made on the holder's side.

The private key of a care provider never leaves the machine that runs the Certificate
Manager (DESIGN.md: "the server never sees a private key of a provider"). What goes to
the platform is a PKCS#10 request (RFC 2986) that proves possession of the key by its
self-signature, and nothing else the platform would have to trust: the subject is empty
and there are no extensions, because the registration authority writes the eHealth
subject from the authentic source and the CA profile decides every extension. A CSR that
asked for a name could only be ignored or refused, so it asks for none.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ehcert.core.policy import DEFAULT_KEY_SIZE, check_key_size

# RFC 8017 section 3.1 recommends e = 65537; it is also the only exponent pyca accepts
# without a warning and the one every eHealth certificate carries.
PUBLIC_EXPONENT = 65537


def generate_rsa_key(bits: int = DEFAULT_KEY_SIZE) -> rsa.RSAPrivateKey:
    """Generate an RSA key pair of a size the eHealth policy accepts (2048, 3072 or 4096).

    The size is checked before the (slow) generation so a refused size fails at once with
    the policy's sentence (``core.policy.check_key_size``).
    """
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError("bits must be an int")
    check_key_size(bits)
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)


def build_csr(key: rsa.RSAPrivateKey) -> bytes:
    """A DER PKCS#10 request with an empty subject, no attributes, signed with SHA-256.

    RFC 2986 section 4.1 allows an empty ``subject`` (``Name ::= SEQUENCE OF`` with no
    element); the signature (``sha256WithRSAEncryption``, RFC 4055 section 5) is the
    proof of possession the platform checks.
    """
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("key must be an RSA private key")
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    csr = request.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)
