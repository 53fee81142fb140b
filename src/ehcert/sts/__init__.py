"""The security token service: SAML 1.1 session tokens for certificate holders.

``service`` decides, ``attributes`` values attributes from the registry, ``assertion``
writes the SAML, ``xmldsig`` signs it through a ``Signer``, ``keys`` holds the STS key,
and ``router`` puts it on HTTP (``sts_router(platform)``).
"""

from __future__ import annotations

from ehcert.sts.router import sts_router

__all__ = ["sts_router"]
