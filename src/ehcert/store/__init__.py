"""Storage: SQLAlchemy models, Alembic migrations and narrow repositories.

- ``db``: :class:`Database` (engine + unit-of-work sessions), ``migrate``, ``sqlite_url``;
- ``models``: every table; the schema itself is created only by ``migrations/``;
- one module per concern, each with a repository over a ``Session`` and immutable record
  dataclasses for what it reads: ``certificates`` (read-only ``CertificateReader`` and
  read-write ``CertificateRepository``), ``nonces``, ``audit`` (hash-chained log),
  ``crl_numbers``, ``ocsp_cache``, ``eid``, ``providers``, ``institutions`` (and mandates);
- ``testing``: throwaway PostgreSQL databases and table resets for tests of any context.

The store enforces data integrity (uniqueness, closed value sets, consistent timestamps);
business rules belong to the registry, RA and CA (DESIGN.md, "security contexts").
"""

from ehcert.store.db import Database, migrate, sqlite_url

__all__ = ["Database", "migrate", "sqlite_url"]
