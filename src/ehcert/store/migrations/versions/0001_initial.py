"""Initial schema: registry, certificates, nonces, audit chain, CRL numbers, OCSP, eIDs.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written out in full (no import of ``ehcert.store.models``) so this revision keeps
describing the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ssin", sa.String(11), nullable=False),
        sa.Column("nihii", sa.String(11), nullable=True),
        sa.Column("profession", sa.String(40), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("withdrawn_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_providers"),
        sa.UniqueConstraint("ssin", name="uq_providers_ssin"),
        sa.UniqueConstraint("nihii", name="uq_providers_nihii"),
        sa.CheckConstraint("length(ssin) = 11", name="ck_providers_ssin_length"),
        sa.CheckConstraint("nihii IS NULL OR length(nihii) = 11", name="ck_providers_nihii_length"),
        sa.CheckConstraint(
            "status IN ('validated', 'pending', 'withdrawn')", name="ck_providers_status"
        ),
        sa.CheckConstraint(
            "(status = 'withdrawn' AND withdrawn_at IS NOT NULL)"
            " OR (status <> 'withdrawn' AND withdrawn_at IS NULL)",
            name="ck_providers_withdrawn_at_matches_status",
        ),
    )

    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("id_type", sa.String(40), nullable=False),
        sa.Column("id_value", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("security_norms_date", sa.Date(), nullable=True),
        sa.Column("data_sharing_authorisation", sa.String(200), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_institutions"),
        sa.UniqueConstraint("id_type", "id_value", name="uq_institutions_id_type_id_value"),
    )

    op.create_table(
        "mandates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("holder_ssin", sa.String(11), nullable=False),
        _ts("valid_from"),
        _ts("valid_until", nullable=True),
        _ts("ended_at", nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_mandates"),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name="fk_mandates_institution_id_institutions",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("length(holder_ssin) = 11", name="ck_mandates_holder_ssin_length"),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until > valid_from",
            name="ck_mandates_valid_until_after_from",
        ),
    )
    op.create_index("ix_mandates_institution_id", "mandates", ["institution_id"])
    op.create_index("ix_mandates_holder_ssin", "mandates", ["holder_ssin"])
    op.create_index(
        "uq_mandates_open_institution_id_holder_ssin",
        "mandates",
        ["institution_id", "holder_ssin"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial_hex", sa.String(40), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("usage", sa.String(16), nullable=False),
        sa.Column("holder_type", sa.String(40), nullable=False),
        sa.Column("holder_value", sa.String(20), nullable=False),
        sa.Column("application_id", sa.String(30), nullable=True),
        sa.Column("subject_dn", sa.Text(), nullable=False),
        _ts("not_before"),
        _ts("not_after"),
        sa.Column("status", sa.String(8), nullable=False),
        _ts("revoked_at", nullable=True),
        sa.Column("revocation_reason", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("public_key_sha256", sa.String(64), nullable=False),
        sa.Column("requested_by_ssin", sa.String(11), nullable=True),
        sa.Column("predecessor_serial_hex", sa.String(40), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("serial_hex", name="uq_certificates_serial_hex"),
        sa.UniqueConstraint("public_key_sha256", name="uq_certificates_public_key_sha256"),
        sa.ForeignKeyConstraint(
            ["predecessor_serial_hex"],
            ["certificates.serial_hex"],
            name="fk_certificates_predecessor_serial_hex_certificates",
        ),
        sa.CheckConstraint(
            "length(serial_hex) BETWEEN 1 AND 40", name="ck_certificates_serial_hex_length"
        ),
        sa.CheckConstraint(
            "length(public_key_sha256) = 64", name="ck_certificates_public_key_sha256_length"
        ),
        sa.CheckConstraint(
            "environment IN ('acceptance', 'production')", name="ck_certificates_environment"
        ),
        sa.CheckConstraint(
            "usage IN ('authentication', 'encryption')", name="ck_certificates_usage"
        ),
        sa.CheckConstraint("status IN ('valid', 'revoked')", name="ck_certificates_status"),
        sa.CheckConstraint("not_after > not_before", name="ck_certificates_validity_order"),
        sa.CheckConstraint(
            "(status = 'valid' AND revoked_at IS NULL AND revocation_reason IS NULL)"
            " OR (status = 'revoked' AND revoked_at IS NOT NULL"
            " AND revocation_reason IS NOT NULL)",
            name="ck_certificates_revocation_matches_status",
        ),
    )
    op.create_index(
        "ix_certificates_holder",
        "certificates",
        ["holder_type", "holder_value", "application_id"],
    )
    op.create_index("ix_certificates_environment_status", "certificates", ["environment", "status"])
    op.create_index(
        "ix_certificates_predecessor_serial_hex", "certificates", ["predecessor_serial_hex"]
    )

    op.create_table(
        "nonces",
        sa.Column("value", sa.String(128), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        sa.PrimaryKeyConstraint("value", name="pk_nonces"),
        sa.CheckConstraint("expires_at > created_at", name="ck_nonces_expiry_order"),
    )
    op.create_index("ix_nonces_expires_at", "nonces", ["expires_at"])

    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("at"),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_records"),
        sa.UniqueConstraint("hash", name="uq_audit_records_hash"),
        sa.CheckConstraint("seq > 0", name="ck_audit_records_seq_positive"),
        sa.CheckConstraint(
            "length(hash) = 64 AND length(prev_hash) = 64", name="ck_audit_records_hash_length"
        ),
    )
    op.create_index("ix_audit_records_at", "audit_records", ["at"])
    op.create_index("ix_audit_records_subject", "audit_records", ["subject"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
        sa.CheckConstraint("last_seq >= 0", name="ck_audit_head_last_seq_not_negative"),
    )
    op.bulk_insert(audit_head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])

    op.create_table(
        "crl_numbers",
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("environment", name="pk_crl_numbers"),
        sa.CheckConstraint(
            "environment IN ('acceptance', 'production')", name="ck_crl_numbers_environment"
        ),
        sa.CheckConstraint("last_number > 0", name="ck_crl_numbers_last_number_positive"),
    )

    op.create_table(
        "ocsp_responses",
        sa.Column("serial_hex", sa.String(40), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        _ts("produced_at"),
        _ts("next_update"),
        sa.PrimaryKeyConstraint("serial_hex", name="pk_ocsp_responses"),
        sa.CheckConstraint("next_update > produced_at", name="ck_ocsp_responses_update_order"),
    )

    op.create_table(
        "eid_credentials",
        sa.Column("serial_hex", sa.String(40), nullable=False),
        sa.Column("ssin", sa.String(11), nullable=False),
        _ts("not_after"),
        _ts("revoked_at", nullable=True),
        sa.Column("revocation_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("serial_hex", name="pk_eid_credentials"),
        sa.CheckConstraint("length(ssin) = 11", name="ck_eid_credentials_ssin_length"),
        sa.CheckConstraint(
            "(revoked_at IS NULL AND revocation_reason IS NULL)"
            " OR (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL)",
            name="ck_eid_credentials_revocation_complete",
        ),
    )
    op.create_index("ix_eid_credentials_ssin", "eid_credentials", ["ssin"])


def downgrade() -> None:
    for table in (
        "eid_credentials",
        "ocsp_responses",
        "crl_numbers",
        "audit_head",
        "audit_records",
        "nonces",
        "certificates",
        "mandates",
        "institutions",
        "providers",
    ):
        op.drop_table(table)
