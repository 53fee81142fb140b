"""The hybrid method: registration offices, officers, identity checks and digital keys.

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-11

Care providers without a Belgian eID prove who they are in person at a registration
office; the officer records the identity document seen and issues a digital key
(username, argon2id password hash, TOTP secret). A certificate requested or renewed
under a digital key names it (``certificates.digital_key``), so revoking the key stops
its renewals. Written out in full (no import of ``ehcert.store.models``) so this
revision keeps describing the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _office_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["office_id"],
        ["registration_offices.id"],
        name=f"fk_{table}_office_id_registration_offices",
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "registration_offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_registration_offices"),
        sa.UniqueConstraint("code", name="uq_registration_offices_code"),
        sa.CheckConstraint(
            "kind IN ('municipality', 'ehealth-desk')", name="ck_registration_offices_kind"
        ),
    )
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ssin", sa.String(11), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        _ts("added_at"),
        _ts("ended_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_officers"),
        sa.UniqueConstraint("ssin", name="uq_officers_ssin"),
        _office_fk("officers"),
        sa.CheckConstraint("length(ssin) = 11", name="ck_officers_ssin_length"),
    )
    op.create_index("ix_officers_office_id", "officers", ["office_id"])
    op.create_table(
        "identity_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ssin", sa.String(11), nullable=False),
        sa.Column("document_type", sa.String(20), nullable=False),
        sa.Column("document_number", sa.String(40), nullable=False),
        sa.Column("issuing_country", sa.String(2), nullable=False),
        sa.Column("document_expiry", sa.Date(), nullable=False),
        sa.Column("officer_ssin", sa.String(11), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        _ts("checked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_identity_checks"),
        _office_fk("identity_checks"),
        sa.CheckConstraint("length(ssin) = 11", name="ck_identity_checks_ssin_length"),
        sa.CheckConstraint(
            "length(officer_ssin) = 11", name="ck_identity_checks_officer_ssin_length"
        ),
        sa.CheckConstraint(
            "length(issuing_country) = 2", name="ck_identity_checks_issuing_country_length"
        ),
        sa.CheckConstraint(
            "document_type IN ('passport', 'identity-card', 'residence-permit')",
            name="ck_identity_checks_document_type",
        ),
    )
    op.create_index("ix_identity_checks_ssin", "identity_checks", ["ssin"])
    op.create_index("ix_identity_checks_office_id", "identity_checks", ["office_id"])
    op.create_table(
        "digital_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ssin", sa.String(11), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _ts("locked_until", nullable=True),
        sa.Column("identity_check_id", sa.Integer(), nullable=False),
        _ts("issued_at"),
        _ts("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("revocation_reason", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_digital_keys"),
        sa.UniqueConstraint("username", name="uq_digital_keys_username"),
        sa.ForeignKeyConstraint(
            ["identity_check_id"],
            ["identity_checks.id"],
            name="fk_digital_keys_identity_check_id_identity_checks",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("length(ssin) = 11", name="ck_digital_keys_ssin_length"),
        sa.CheckConstraint(
            "failed_attempts >= 0", name="ck_digital_keys_failed_attempts_not_negative"
        ),
        sa.CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL)"
            " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
            name="ck_digital_keys_revocation_complete",
        ),
    )
    op.create_index("ix_digital_keys_identity_check_id", "digital_keys", ["identity_check_id"])
    op.create_index(
        "uq_digital_keys_live_ssin",
        "digital_keys",
        ["ssin"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.add_column("certificates", sa.Column("digital_key", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("digital_key")
    op.drop_index("uq_digital_keys_live_ssin", table_name="digital_keys")
    op.drop_index("ix_digital_keys_identity_check_id", table_name="digital_keys")
    op.drop_table("digital_keys")
    op.drop_index("ix_identity_checks_office_id", table_name="identity_checks")
    op.drop_index("ix_identity_checks_ssin", table_name="identity_checks")
    op.drop_table("identity_checks")
    op.drop_index("ix_officers_office_id", table_name="officers")
    op.drop_table("officers")
    op.drop_table("registration_offices")
