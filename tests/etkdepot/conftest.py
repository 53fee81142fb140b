from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa


@pytest.fixture(scope="session")
def weak_key() -> rsa.RSAPrivateKey:
    """1024 bits: below the policy minimum (small keys are quick to make)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)
