"""Integrator certificates and the integrators' test identities.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

An integrator enrols once with a one-time secret (kept as its SHA-256, with an expiry)
and is then known by the serial of its integrator certificate. Providers, institutions
and mandates get the CBE number of the integrator whose test data they are; NULL is the
authentic source's own data.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEST_DATA = ("providers", "institutions", "mandates")


def upgrade() -> None:
    with op.batch_alter_table("integrators") as batch:
        batch.add_column(sa.Column("enrolment_secret_sha256", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("enrolment_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("certificate_serial", sa.String(40), nullable=True))
        batch.create_unique_constraint("uq_integrators_certificate_serial", ["certificate_serial"])
    for table in _TEST_DATA:
        op.add_column(table, sa.Column("test_owner_cbe", sa.String(10), nullable=True))
        op.create_index(f"ix_{table}_test_owner_cbe", table, ["test_owner_cbe"])


def downgrade() -> None:
    for table in _TEST_DATA:
        op.drop_index(f"ix_{table}_test_owner_cbe", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("test_owner_cbe")
    with op.batch_alter_table("integrators") as batch:
        batch.drop_constraint("uq_integrators_certificate_serial", type_="unique")
        batch.drop_column("certificate_serial")
        batch.drop_column("enrolment_expires_at")
        batch.drop_column("enrolment_secret_sha256")
