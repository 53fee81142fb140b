"""The STS's signing credential: a certificate and the signer of its key, nothing more.

The STS signs assertions with a key of its own, certified by the environment's issuing
CA, so a relying party checks an assertion against the same anchors as the holder's
certificate, and an acceptance token can never verify against production. The CA makes
and certifies that key like every platform service certificate
(:mod:`ehcert.ca.service_certificates`; ``CertificateAuthority.sts_credential``), and the
STS only ever receives this value: it never sees a CA key or the key backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from ehcert.pki.signer import Signer


@dataclass(frozen=True)
class StsCredential:
    """The STS certificate and the signer of its key."""

    certificate: x509.Certificate
    signer: Signer
