"""ehcert: eHealth certificates for care providers and care institutions.

One distribution with three faces: the platform (registry, RA, CA, revocation, ETK depot,
STS), the Certificate Manager (CLI and local web UI) and the client SDK that both the
manager and medical software integrators embed.
"""

__version__ = "0.1.0"
