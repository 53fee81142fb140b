"""End-to-end encryption of eHealth messages (ETEE): seal and unseal, client side.

``seal`` signs, encrypts and signs again (CMS, RFC 5652); ``unseal`` reverses it with
every key of the given keystores and reports two verdicts, data and trust. This package
uses only ``ehcert.core`` and ``ehcert.pki``: it works without the server installed.
"""

from ehcert.client.etee.report import (
    DataVerdict,
    Issue,
    SignatureFacts,
    TrustVerdict,
    Unsealed,
    UnsealReport,
)
from ehcert.client.etee.seal import seal
from ehcert.client.etee.unseal import unseal

__all__ = [
    "DataVerdict",
    "Issue",
    "SignatureFacts",
    "TrustVerdict",
    "UnsealReport",
    "Unsealed",
    "seal",
    "unseal",
]
