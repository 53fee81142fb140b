"""Software integrators of the acceptance environment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

A software company registers, by its CBE number, with the reference of the request form
it signed; one registration per company and per form.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cbe", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("form_reference", sa.String(64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_integrators"),
        sa.UniqueConstraint("cbe", name="uq_integrators_cbe"),
        sa.UniqueConstraint("form_reference", name="uq_integrators_form_reference"),
        sa.CheckConstraint("length(cbe) = 10", name="ck_integrators_cbe_length"),
    )


def downgrade() -> None:
    op.drop_table("integrators")
