"""The running platform: everything ``ehcert serve`` wires together from the settings.

The package is the composition root, the one place that knows every context; it builds
them and connects them once, at start, and does nothing else:

- :mod:`ehcert.platform.root`: :class:`Platform` (open, the services, the HTTP edge's
  ports), :func:`key_backend` and :func:`ca_directory`;
- :mod:`ehcert.platform.adapters`: the store behind the edge's own ports (nonces, the
  test citizen CA's records);
- :mod:`ehcert.platform.revocation`: CRL and OCSP serving with their caches.

The names below are the package's public surface; import them from ``ehcert.platform``.
"""

from ehcert.platform.root import Platform, ca_directory, key_backend

__all__ = ["Platform", "ca_directory", "key_backend"]
