"""The security token service: SAML 1.1 session tokens for certificate holders.

``service`` decides, ``attributes`` values attributes from the registry, ``assertion``
writes the SAML, ``xmldsig`` signs it through a ``Signer``, ``keys`` holds the STS key,
and ``issuance`` checks the signer and audits each token. The HTTP routes are the
edge's (``api.sts``).
"""
