"""The running platform: everything ``ehcert serve`` wires together from the settings.

The package is the composition root, the one place that knows every context, split by
what each part is about so that each reads in one sitting:

- :mod:`ehcert.platform.root`: :class:`Platform` (open, units of work, request
  authentication, the RA and ETK depot operations, reads),
  :func:`key_backend` and :func:`ca_directory`;
- :mod:`ehcert.platform.adapters`: the store behind the RA's and the ETK depot's ports;
- :mod:`ehcert.platform.revocation`: CRL and OCSP serving with their caches.

The names below are the package's public surface; import them from ``ehcert.platform``.
"""

from ehcert.platform.adapters import SERIAL_ATTEMPTS, Ledger, facts_from_record, public_key_sha256
from ehcert.platform.root import Platform, ca_directory, key_backend

__all__ = [
    "SERIAL_ATTEMPTS",
    "Ledger",
    "Platform",
    "ca_directory",
    "facts_from_record",
    "key_backend",
    "public_key_sha256",
]
