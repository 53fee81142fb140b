"""ETK depot: registration challenges and published ETKs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02

Written out in full (no import of ``ehcert.store.models``) so this revision keeps
describing the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "etk_challenges",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("authentication_serial", sa.String(40), nullable=False),
        sa.Column("encryption_der", sa.LargeBinary(), nullable=False),
        sa.Column("answer_sha256", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_etk_challenges"),
        sa.ForeignKeyConstraint(
            ["authentication_serial"],
            ["certificates.serial_hex"],
            name="fk_etk_challenges_authentication_serial_certificates",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("expires_at > created_at", name="ck_etk_challenges_expiry_order"),
        sa.CheckConstraint(
            "length(answer_sha256) = 64", name="ck_etk_challenges_answer_sha256_length"
        ),
    )
    op.create_index(
        "ix_etk_challenges_authentication_serial", "etk_challenges", ["authentication_serial"]
    )
    op.create_index("ix_etk_challenges_expires_at", "etk_challenges", ["expires_at"])

    op.create_table(
        "etks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("holder_type", sa.String(40), nullable=False),
        sa.Column("holder_value", sa.String(20), nullable=False),
        sa.Column("application_id", sa.String(30), nullable=True),
        sa.Column("encryption_serial", sa.String(64), nullable=False),
        sa.Column("encryption_key_sha256", sa.String(64), nullable=False),
        sa.Column("encryption_certificate_sha256", sa.String(64), nullable=False),
        sa.Column("authentication_serial", sa.String(40), nullable=False),
        sa.Column("subject_dn", sa.Text(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        _ts("not_before"),
        _ts("not_after"),
        _ts("published_at"),
        sa.PrimaryKeyConstraint("id", name="pk_etks"),
        sa.UniqueConstraint("encryption_key_sha256", name="uq_etks_encryption_key_sha256"),
        sa.UniqueConstraint("authentication_serial", name="uq_etks_authentication_serial"),
        sa.ForeignKeyConstraint(
            ["authentication_serial"],
            ["certificates.serial_hex"],
            name="fk_etks_authentication_serial_certificates",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("not_after > not_before", name="ck_etks_validity_order"),
        sa.CheckConstraint(
            "length(encryption_key_sha256) = 64", name="ck_etks_encryption_key_sha256_length"
        ),
    )
    op.create_index("ix_etks_holder", "etks", ["holder_type", "holder_value", "application_id"])


def downgrade() -> None:
    op.drop_table("etks")
    op.drop_table("etk_challenges")
