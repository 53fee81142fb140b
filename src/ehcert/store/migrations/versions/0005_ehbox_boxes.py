"""eHealthBox: one row per box, locked by a send while it checks the quotas.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

Two sends to a box near its quota, in two API processes on one PostgreSQL, each read
the box's size before either wrote: both passed and the box went past its quota. A send
now locks the rows of the boxes it touches (``SELECT ... FOR UPDATE``, in box order)
before it reads their sizes, so the second send waits for the first to commit and then
sees its message. The rows are made on first use; existing boxes get theirs here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ehbox_boxes",
        sa.Column("box", sa.String(60), nullable=False),
        sa.PrimaryKeyConstraint("box", name="pk_ehbox_boxes"),
    )
    op.execute("INSERT INTO ehbox_boxes (box) SELECT DISTINCT box FROM ehbox_copies")


def downgrade() -> None:
    op.drop_table("ehbox_boxes")
