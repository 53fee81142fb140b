"""eHealthBox: messages, sealed parts in chunks, recipients, copies, out of office.

Revision ID: 0003
Revises: 0002
Create Date: 2026-03-02

Written out in full (no import of ``ehcert.store.models``) so this revision keeps
describing the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _message_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["message_pk"],
        ["ehbox_messages.id"],
        name=f"fk_{table}_message_pk_ehbox_messages",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "ehbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(13), nullable=False),
        sa.Column("publication_id", sa.String(13), nullable=False),
        sa.Column("sender_box", sa.String(60), nullable=False),
        sa.Column("sender_name", sa.String(250), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("content_type", sa.String(20), nullable=False),
        sa.Column("important", sa.Boolean(), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _ts("published_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ehbox_messages"),
        sa.UniqueConstraint("message_id", name="uq_ehbox_messages_message_id"),
        sa.CheckConstraint("length(message_id) = 13", name="ck_ehbox_messages_message_id_length"),
        sa.CheckConstraint("size >= 0", name="ck_ehbox_messages_size_not_negative"),
        sa.CheckConstraint("expires_at > published_at", name="ck_ehbox_messages_expiry_order"),
    )
    op.create_index("ix_ehbox_messages_expires_at", "ehbox_messages", ["expires_at"])

    op.create_table(
        "ehbox_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ehbox_parts"),
        _message_fk("ehbox_parts"),
        sa.UniqueConstraint("message_pk", "ordinal", name="uq_ehbox_parts_message_pk_ordinal"),
        sa.CheckConstraint("length(sha256) = 64", name="ck_ehbox_parts_sha256_length"),
    )

    op.create_table(
        "ehbox_chunks",
        sa.Column("part_pk", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("part_pk", "seq", name="pk_ehbox_chunks"),
        sa.ForeignKeyConstraint(
            ["part_pk"],
            ["ehbox_parts.id"],
            name="fk_ehbox_chunks_part_pk_ehbox_parts",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "ehbox_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(60), nullable=False),
        sa.Column("is_copy", sa.Boolean(), nullable=False),
        _ts("published_at", nullable=True),
        _ts("received_at", nullable=True),
        _ts("read_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ehbox_recipients"),
        _message_fk("ehbox_recipients"),
        sa.UniqueConstraint("message_pk", "box", name="uq_ehbox_recipients_message_pk_box"),
    )

    op.create_table(
        "ehbox_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(60), nullable=False),
        sa.Column("side", sa.String(10), nullable=False),
        sa.Column("folder", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ehbox_copies"),
        _message_fk("ehbox_copies"),
        sa.UniqueConstraint(
            "message_pk", "box", "side", name="uq_ehbox_copies_message_pk_box_side"
        ),
        sa.CheckConstraint(
            "folder IN ('INBOX', 'SENTBOX', 'BININBOX', 'BINSENTBOX')",
            name="ck_ehbox_copies_folder",
        ),
        sa.CheckConstraint("side IN ('received', 'sent')", name="ck_ehbox_copies_side"),
    )
    op.create_index("ix_ehbox_copies_box_folder", "ehbox_copies", ["box", "folder", "message_pk"])
    op.create_index("ix_ehbox_copies_message_pk", "ehbox_copies", ["message_pk"])

    op.create_table(
        "ehbox_out_of_office",
        sa.Column("id", sa.String(13), nullable=False),
        sa.Column("box", sa.String(60), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("substitutes_json", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ehbox_out_of_office"),
        sa.CheckConstraint("end_date >= start_date", name="ck_ehbox_out_of_office_period_order"),
    )
    op.create_index("ix_ehbox_out_of_office_box", "ehbox_out_of_office", ["box"])


def downgrade() -> None:
    op.drop_table("ehbox_out_of_office")
    op.drop_table("ehbox_copies")
    op.drop_table("ehbox_recipients")
    op.drop_table("ehbox_chunks")
    op.drop_table("ehbox_parts")
    op.drop_table("ehbox_messages")
