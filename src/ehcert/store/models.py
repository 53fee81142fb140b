"""SQLAlchemy models of every table the platform keeps (the single source for migrations).

The tables are owned by the store; the rules that decide what goes in them live in
registry/ra/ca. What *is* enforced here is data integrity that must hold whatever code
writes: uniqueness (a serial number or a public key is certified at most once, RFC 5280
section 4.1.2.2 and the eHealth CP), closed value sets (status, environment, usage),
consistency between status and its timestamps, and foreign keys.

Readers never get these ORM objects: repositories turn rows into frozen dataclasses so a
caller cannot change a row by assigning an attribute.

Constraint names follow :data:`NAMING_CONVENTION`, so migrations are deterministic and an
``IntegrityError`` names the constraint on both PostgreSQL and SQLite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ehcert.core.documents import DOCUMENT_TYPES
from ehcert.store.columns import UtcDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PROVIDER_STATUSES = ("validated", "pending", "withdrawn")
ENVIRONMENTS = ("acceptance", "production")
CERTIFICATE_USAGES = ("authentication", "encryption")
CERTIFICATE_STATUSES = ("valid", "revoked")

# The hash that precedes the first audit record (the chain's genesis).
GENESIS_HASH = "0" * 64


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime()}


class ProviderRow(Base):
    """A care provider of the authentic source (one row per natural person, by SSIN)."""

    __tablename__ = "providers"
    __table_args__ = (
        CheckConstraint("length(ssin) = 11", name="ssin_length"),
        CheckConstraint("nihii IS NULL OR length(nihii) = 11", name="nihii_length"),
        CheckConstraint(_in("status", PROVIDER_STATUSES), name="status"),
        CheckConstraint(
            "(status = 'withdrawn' AND withdrawn_at IS NOT NULL)"
            " OR (status <> 'withdrawn' AND withdrawn_at IS NULL)",
            name="withdrawn_at_matches_status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ssin: Mapped[str] = mapped_column(String(11), unique=True)
    # NULLs are distinct in a UNIQUE constraint on both backends: "unique when present".
    nihii: Mapped[str | None] = mapped_column(String(11), unique=True)
    profession: Mapped[str] = mapped_column(String(40))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]
    # The integrator (CBE) whose test identity this is (``registry.test_identities``);
    # NULL for the authentic source's own data.
    test_owner_cbe: Mapped[str | None] = mapped_column(String(10), index=True)


class InstitutionRow(Base):
    """A care institution, known by an eHealth identifier type and value."""

    __tablename__ = "institutions"
    __table_args__ = (UniqueConstraint("id_type", "id_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_type: Mapped[str] = mapped_column(String(40))
    id_value: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    security_norms_date: Mapped[dt.date | None] = mapped_column(Date)
    data_sharing_authorisation: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # The integrator (CBE) whose test identity this is (``registry.test_identities``);
    # NULL for the authentic source's own data.
    test_owner_cbe: Mapped[str | None] = mapped_column(String(10), index=True)


class MandateRow(Base):
    """A person's mandate to act for an institution (request and revoke its certificates).

    At most one *open* (not ended) mandate per institution and person, enforced by a
    partial unique index; ended mandates stay as history.
    """

    __tablename__ = "mandates"
    __table_args__ = (
        CheckConstraint("length(holder_ssin) = 11", name="holder_ssin_length"),
        CheckConstraint(
            "valid_until IS NULL OR valid_until > valid_from", name="valid_until_after_from"
        ),
        Index(
            "uq_mandates_open_institution_id_holder_ssin",
            "institution_id",
            "holder_ssin",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="RESTRICT"), index=True
    )
    holder_ssin: Mapped[str] = mapped_column(String(11), index=True)
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    # The integrator (CBE) whose test identity this is (``registry.test_identities``);
    # NULL for the authentic source's own data.
    test_owner_cbe: Mapped[str | None] = mapped_column(String(10), index=True)


class CertificateRow(Base):
    """An issued certificate (authentication by the CA, or the holder's encryption one)."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(
            "length(serial_hex) BETWEEN 1 AND 40", name="serial_hex_length"
        ),  # RFC 5280 section 4.1.2.2: at most 20 octets
        CheckConstraint("length(public_key_sha256) = 64", name="public_key_sha256_length"),
        CheckConstraint(_in("environment", ENVIRONMENTS), name="environment"),
        CheckConstraint(_in("usage", CERTIFICATE_USAGES), name="usage"),
        CheckConstraint(_in("status", CERTIFICATE_STATUSES), name="status"),
        CheckConstraint("not_after > not_before", name="validity_order"),
        CheckConstraint(
            "(status = 'valid' AND revoked_at IS NULL AND revocation_reason IS NULL)"
            " OR (status = 'revoked' AND revoked_at IS NOT NULL"
            " AND revocation_reason IS NOT NULL)",
            name="revocation_matches_status",
        ),
        Index(
            "ix_certificates_holder",
            "holder_type",
            "holder_value",
            "application_id",
        ),
        Index("ix_certificates_environment_status", "environment", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_hex: Mapped[str] = mapped_column(String(40), unique=True)
    environment: Mapped[str] = mapped_column(String(16))
    usage: Mapped[str] = mapped_column(String(16))
    holder_type: Mapped[str] = mapped_column(String(40))
    holder_value: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str | None] = mapped_column(String(30))
    subject_dn: Mapped[str] = mapped_column(Text)
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(8))
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    public_key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    requested_by_ssin: Mapped[str | None] = mapped_column(String(11))
    # NO ACTION, not RESTRICT: checked at the end of the statement, so a chain of
    # renewals can be removed in one DELETE (SQLite applies RESTRICT row by row).
    # Unique: a certificate is renewed once, even by racing API processes (0003).
    predecessor_serial_hex: Mapped[str | None] = mapped_column(
        ForeignKey("certificates.serial_hex"), index=True, unique=True
    )
    # The digital key (username) the certificate was requested or renewed under: its
    # renewals stop when the registration office revokes that key (0006).
    digital_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class NonceRow(Base):
    """A server nonce (RFC 8555 section 6.5 style): single use, short lived."""

    __tablename__ = "nonces"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expiry_order"),)

    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class AuditRecordRow(Base):
    """One link of the append-only, hash-chained audit log (see ``store.audit``)."""

    __tablename__ = "audit_records"
    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hash_length"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The one row that names the chain's last link; appends lock it to serialise."""

    __tablename__ = "audit_head"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class CrlNumberRow(Base):
    """The last CRL number used per environment (RFC 5280 section 5.2.3: increasing)."""

    __tablename__ = "crl_numbers"
    __table_args__ = (
        CheckConstraint(_in("environment", ENVIRONMENTS), name="environment"),
        CheckConstraint("last_number > 0", name="last_number_positive"),
    )

    environment: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class OcspResponseRow(Base):
    """A cached, already signed OCSP response (RFC 6960); dropped on any status change."""

    __tablename__ = "ocsp_responses"
    __table_args__ = (CheckConstraint("next_update > produced_at", name="update_order"),)

    serial_hex: Mapped[str] = mapped_column(String(40), primary_key=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    produced_at: Mapped[dt.datetime]
    next_update: Mapped[dt.datetime]


class EidCredentialRow(Base):
    """A test eID certificate issued by the acceptance citizen CA."""

    __tablename__ = "eid_credentials"
    __table_args__ = (
        CheckConstraint("length(ssin) = 11", name="ssin_length"),
        CheckConstraint(
            "(revoked_at IS NULL AND revocation_reason IS NULL)"
            " OR (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL)",
            name="revocation_complete",
        ),
    )

    serial_hex: Mapped[str] = mapped_column(String(40), primary_key=True)
    ssin: Mapped[str] = mapped_column(String(11), index=True)
    not_after: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(32))


class EtkChallengeRow(Base):
    """A proof-of-possession challenge of an ETK registration: single use, short lived.

    Only the SHA-256 of the challenge is kept: the platform can check an answer but a
    reader of the table cannot answer for the holder.
    """

    __tablename__ = "etk_challenges"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expiry_order"),
        CheckConstraint("length(answer_sha256) = 64", name="answer_sha256_length"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    authentication_serial: Mapped[str] = mapped_column(
        ForeignKey("certificates.serial_hex", ondelete="CASCADE"), index=True
    )
    encryption_der: Mapped[bytes] = mapped_column(LargeBinary)
    answer_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class EtkRow(Base):
    """A published ETK: the depot's signed token of one encryption certificate.

    One ETK per authentication certificate (it vouches for exactly one encryption key at a
    time) and an encryption key is published at most once. Whether it is served is not
    stored here: lookups join the authentication certificate's row, so its revocation or
    expiry withdraws the ETK in the same instant (see ``store.etks``).
    """

    __tablename__ = "etks"
    __table_args__ = (
        CheckConstraint("not_after > not_before", name="validity_order"),
        CheckConstraint("length(encryption_key_sha256) = 64", name="encryption_key_sha256_length"),
        Index("ix_etks_holder", "holder_type", "holder_value", "application_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_type: Mapped[str] = mapped_column(String(40))
    holder_value: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[str | None] = mapped_column(String(30))
    encryption_serial: Mapped[str] = mapped_column(String(64))  # decimal, as keystore aliases
    encryption_key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    encryption_certificate_sha256: Mapped[str] = mapped_column(String(64))
    authentication_serial: Mapped[str] = mapped_column(
        ForeignKey("certificates.serial_hex", ondelete="CASCADE"), unique=True
    )
    subject_dn: Mapped[str] = mapped_column(Text)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    published_at: Mapped[dt.datetime]


# --- the eHealthBox (``store.ehbox``) -----------------------------------------------------

EHBOX_FOLDERS = ("INBOX", "SENTBOX", "BININBOX", "BINSENTBOX")
EHBOX_SIDES = ("received", "sent")


class EhboxMessageRow(Base):
    """One published message: what the box keeps in clear (never an encryptable part)."""

    __tablename__ = "ehbox_messages"
    __table_args__ = (
        CheckConstraint("length(message_id) = 13", name="message_id_length"),
        CheckConstraint("size >= 0", name="size_not_negative"),
        CheckConstraint("expires_at > published_at", name="expiry_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(13), unique=True)
    publication_id: Mapped[str] = mapped_column(String(13))
    sender_box: Mapped[str] = mapped_column(String(60))
    sender_name: Mapped[str] = mapped_column(String(250))
    title: Mapped[str] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(20))
    important: Mapped[bool] = mapped_column()
    metadata_json: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class EhboxPartRow(Base):
    """One sealed part of a message: its name, size and the digest the sender declared."""

    __tablename__ = "ehbox_parts"
    __table_args__ = (
        UniqueConstraint("message_pk", "ordinal"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("ehbox_messages.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


class EhboxChunkRow(Base):
    """A piece of a sealed part, so that no operation holds a whole part in memory."""

    __tablename__ = "ehbox_chunks"

    part_pk: Mapped[int] = mapped_column(
        ForeignKey("ehbox_parts.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class EhboxRecipientRow(Base):
    """A recipient of a message and its receipts, each recorded once with its time."""

    __tablename__ = "ehbox_recipients"
    __table_args__ = (UniqueConstraint("message_pk", "box"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("ehbox_messages.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    box: Mapped[str] = mapped_column(String(60))
    is_copy: Mapped[bool] = mapped_column()
    published_at: Mapped[dt.datetime | None] = mapped_column()
    received_at: Mapped[dt.datetime | None] = mapped_column()
    read_at: Mapped[dt.datetime | None] = mapped_column()


class EhboxCopyRow(Base):
    """Where a message is, for one box: the recipient's inbox or the sender's sent box,
    or their bins."""

    __tablename__ = "ehbox_copies"
    __table_args__ = (
        UniqueConstraint("message_pk", "box", "side"),
        Index("ix_ehbox_copies_box_folder", "box", "folder", "message_pk"),
        CheckConstraint(_in("folder", EHBOX_FOLDERS), name="folder"),
        CheckConstraint(_in("side", EHBOX_SIDES), name="side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("ehbox_messages.id", ondelete="CASCADE"), index=True
    )
    box: Mapped[str] = mapped_column(String(60))
    side: Mapped[str] = mapped_column(String(10))
    folder: Mapped[str] = mapped_column(String(10))


class EhboxOutOfOfficeRow(Base):
    """An out-of-office period of a box (``insertOoO``) and its substitutes."""

    __tablename__ = "ehbox_out_of_office"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="period_order"),)

    id: Mapped[str] = mapped_column(String(13), primary_key=True)
    box: Mapped[str] = mapped_column(String(60), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    substitutes_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column()


class EhboxBoxRow(Base):
    """One row per box that has been sent to or from: what a send locks.

    The quota check reads a box's size and then writes a message into it; two sends to
    a box near its quota in two API processes must not both pass on the same reading.
    A send therefore locks the row of every box it touches (``SELECT ... FOR UPDATE``
    on PostgreSQL, in box order; ``store.ehbox.EhboxStore.lock_boxes``) before it reads
    their sizes. No size is kept here: the size is always summed from the messages.
    """

    __tablename__ = "ehbox_boxes"

    box: Mapped[str] = mapped_column(String(60), primary_key=True)


# --- the hybrid method: registration offices, identity checks, digital keys (0006) -------

OFFICE_KINDS = ("municipality", "ehealth-desk")


class RegistrationOfficeRow(Base):
    """A desk where people without a Belgian eID prove who they are in person."""

    __tablename__ = "registration_offices"
    __table_args__ = (CheckConstraint(_in("kind", OFFICE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]


class OfficerRow(Base):
    """An officer of a registration office: may record identity checks and issue or
    revoke digital keys, authenticated by their own eHealth certificate."""

    __tablename__ = "officers"
    __table_args__ = (CheckConstraint("length(ssin) = 11", name="ssin_length"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ssin: Mapped[str] = mapped_column(String(11), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    office_id: Mapped[int] = mapped_column(
        ForeignKey("registration_offices.id", ondelete="RESTRICT"), index=True
    )
    added_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class IdentityCheckRow(Base):
    """One in-person identity check: which document the officer saw, where and when."""

    __tablename__ = "identity_checks"
    __table_args__ = (
        CheckConstraint("length(ssin) = 11", name="ssin_length"),
        CheckConstraint("length(officer_ssin) = 11", name="officer_ssin_length"),
        CheckConstraint("length(issuing_country) = 2", name="issuing_country_length"),
        CheckConstraint(_in("document_type", DOCUMENT_TYPES), name="document_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ssin: Mapped[str] = mapped_column(String(11), index=True)
    document_type: Mapped[str] = mapped_column(String(20))
    document_number: Mapped[str] = mapped_column(String(40))
    issuing_country: Mapped[str] = mapped_column(String(2))
    document_expiry: Mapped[dt.date] = mapped_column(Date)
    officer_ssin: Mapped[str] = mapped_column(String(11))
    office_id: Mapped[int] = mapped_column(
        ForeignKey("registration_offices.id", ondelete="RESTRICT"), index=True
    )
    checked_at: Mapped[dt.datetime]


class DigitalKeyRow(Base):
    """A digital key: username, argon2id password hash, TOTP secret and its counters.

    A username is never given twice (revoked keys stay as history); a person holds at
    most one key that is not revoked (partial unique index).
    """

    __tablename__ = "digital_keys"
    __table_args__ = (
        CheckConstraint("length(ssin) = 11", name="ssin_length"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
        CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL)"
            " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
            name="revocation_complete",
        ),
        Index(
            "uq_digital_keys_live_ssin",
            "ssin",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    ssin: Mapped[str] = mapped_column(String(11))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(String(64))
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[dt.datetime | None]
    identity_check_id: Mapped[int] = mapped_column(
        ForeignKey("identity_checks.id", ondelete="RESTRICT"), index=True
    )
    issued_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revocation_reason: Mapped[str | None] = mapped_column(String(200))


class IntegratorRow(Base):
    """A software company registered to build on the acceptance environment, by its CBE
    number and the reference of the request form it signed (one registration each)."""

    __tablename__ = "integrators"
    __table_args__ = (CheckConstraint("length(cbe) = 10", name="cbe_length"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cbe: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    form_reference: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[dt.datetime]
    # The one-time enrolment secret (SHA-256 of it) and until when it may be used;
    # NULL once spent (``registry.integrators``).
    enrolment_secret_sha256: Mapped[str | None] = mapped_column(String(64))
    enrolment_expires_at: Mapped[dt.datetime | None]
    # The serial of the integrator certificate that authenticates it now.
    certificate_serial: Mapped[str | None] = mapped_column(String(40), unique=True)
