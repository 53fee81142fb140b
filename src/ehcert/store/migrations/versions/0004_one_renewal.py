"""One renewal per certificate: the predecessor column becomes unique.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

A certificate is renewed at most once (the successor replaces it; the ETK depot stops
serving the predecessor's ETK). The RA's own check cannot see a renewal committing at the
same moment in another API process on the same PostgreSQL, so the database judges: two
racing renewals of one certificate insert the same ``predecessor_serial_hex`` and the
second insert fails. NULLs (first certificates) stay allowed many times, on both
PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_certificates_predecessor_serial_hex"


def upgrade() -> None:
    op.drop_index(_INDEX, table_name="certificates")
    op.create_index(_INDEX, "certificates", ["predecessor_serial_hex"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="certificates")
    op.create_index(_INDEX, "certificates", ["predecessor_serial_hex"])
