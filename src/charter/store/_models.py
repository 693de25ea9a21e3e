"""SQLAlchemy models of Charter's own tables (the migrations in ``migrations/`` create them)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from charter.store._types import UTCDateTime

__all__ = [
    "AccountRefRow",
    "AccountReportRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "ContactSuppressionRow",
    "DataKeyRow",
    "DsrRow",
    "EvidenceRow",
    "KeyBase",
    "MarketplaceContactRow",
    "PrivacySettingRow",
    "PurgeRow",
    "RecordRow",
    "SecurityAlertRow",
    "SecurityNotificationRow",
    "SecurityReportRow",
    "StatementVersionRow",
    "SupportAttachmentRow",
    "SupportCaseRow",
    "SupportMessageRow",
    "TenantContactRow",
    "TenantEventRow",
    "TenantRow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class StatementVersionRow(Base):
    """One published text of the statement; a new row only when the rendered text changes."""

    __tablename__ = "statement_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    effective: Mapped[date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    markdown: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyBase(DeclarativeBase):
    """The key store's tables: kept in a database of their own, outside every data backup."""

    metadata = MetaData(naming_convention=_NAMING)


class DataKeyRow(KeyBase):
    """A tenant's data-encryption key (DEK), wrapped by the key-encryption key (KEK).

    It lives in the key store, not beside the data: a copy or backup of the data database holds no key,
    so destroying a tenant's keys here makes every copy of its data unreadable (crypto-shredding).
    """

    __tablename__ = "data_keys"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    kek_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TenantRow(Base):
    """A customer installation: its ids, lifecycle state and (encrypted) connection data."""

    __tablename__ = "tenants"
    __table_args__ = (
        UniqueConstraint("app_key", "client_key"),
        UniqueConstraint("installation_id"),
        Index("ix_tenants_cloud_id", "app_key", "cloud_id"),
        Index("ix_tenants_state", "state", "clock_started_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    app_key: Mapped[str] = mapped_column(String(100))
    installation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    client_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    cloud_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    workspace_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    product: Mapped[str | None] = mapped_column(String(64), nullable=True)
    app_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    base_url: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    shared_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    secret_version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(32))
    state_since: Mapped[datetime] = mapped_column(UTCDateTime())
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TenantEventRow(Base):
    """A lifecycle event of a tenant (ids and times only: no personal data)."""

    __tablename__ = "tenant_events"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecordRow(Base):
    """A tenant's record: one value of a declared kind, sealed under the tenant's data key."""

    __tablename__ = "records"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """One entry of the append-only, hash-chained audit log (ids and reasons only: no personal data)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The newest entry's sequence number and hash, authenticated, so a cut-off tail is detected."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class PurgeRow(Base):
    """A tenant purge in progress or done: written before anything is destroyed, so a purge that is
    interrupted is always accounted for and resumed."""

    __tablename__ = "purges"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    keys_destroyed: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    receipt_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SupportCaseRow(Base):
    """A support case. What a person wrote (subject, customer reference) is sealed under the case's
    communications key; after deletion only this tombstone (ids, times, counts) remains."""

    __tablename__ = "support_cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16))  # open, closed, deleted
    customer: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    subject: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attachments_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    communications_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hold_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    hold_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SupportAttachmentRow(Base):
    """An attachment: redacted at intake, its content in an encrypted blob file, its name sealed."""

    __tablename__ = "support_attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), ForeignKey("support_cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    redaction: Mapped[str] = mapped_column(Text)  # counts per kind and withheld items (never values), JSON


class SupportMessageRow(Base):
    """One communication of a case (from the customer or from staff), sealed."""

    __tablename__ = "support_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(32), ForeignKey("support_cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # customer or staff
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[bytes] = mapped_column(LargeBinary)


class SecurityReportRow(Base):
    """A vulnerability report or dependency finding on the security desk, with its clocks (aware UTC).

    What a person wrote (reporter, contact, summary, details, advisory text) is sealed under the report's own
    data key (owner ``charter:security:<id>``); the columns in clear are ids, states, scores and times.
    """

    __tablename__ = "security_reports"
    __table_args__ = (Index("ix_security_reports_state", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # report, dependency
    source: Mapped[str] = mapped_column(String(16))
    intake: Mapped[str] = mapped_column(String(16))  # cli, form, mailbox, deps-audit
    intake_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    state: Mapped[str] = mapped_column(String(24))
    app_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    affected: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fixed_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cvss_vector: Mapped[str | None] = mapped_column(String(300), nullable=True)
    score_tenths: Mapped[int | None] = mapped_column(Integer, nullable=True)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    credit: Mapped[bool] = mapped_column(Boolean, default=False)
    reporter: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    contact: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    summary: Mapped[bytes] = mapped_column(LargeBinary)
    details: Mapped[bytes] = mapped_column(LargeBinary)
    advisory: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fix_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fix_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disclosed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    breach_aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    authority_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    customers_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    authority_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    customers_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SecurityNotificationRow(Base):
    """One notification e-mail to one tenant about one report: its outcome, never its address in clear."""

    __tablename__ = "security_notifications"
    __table_args__ = (UniqueConstraint("report_id", "kind", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("security_reports.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # fix, breach
    tenant_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # sent, failed, no-contact
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SecurityAlertRow(Base):
    """An alert sent for a clock at a stage (``due-soon``, ``breached``): each is sent once."""

    __tablename__ = "security_alerts"
    __table_args__ = (PrimaryKeyConstraint("report_id", "clock", "stage"),)

    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("security_reports.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(24))
    stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class TenantContactRow(Base):
    """The e-mail address a tenant's admins are notified at, sealed under the tenant's data key (so a purge's
    crypto-shredding removes it with the rest)."""

    __tablename__ = "tenant_contacts"

    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccountRefRow(Base):
    """A stored item that holds personal data of an Atlassian account: a tenant record (``holder`` is its
    kind) or a support case (``holder`` is ``charter:support-case``). ``retrieved_at`` is when that data was
    fetched from Atlassian (the personal-data reporting API's ``updatedAt``)."""

    __tablename__ = "account_refs"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "holder", "key", "account_id"),
        Index("ix_account_refs_account_id", "account_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str] = mapped_column(String(128))
    retrieved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccountReportRow(Base):
    """Reporting state of one account: when it was last reported, and whether Atlassian said it is closed
    (a closed account is never reported again, and no new data may be stored for it)."""

    __tablename__ = "account_reports"

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # active, closed
    last_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PrivacySettingRow(Base):
    """Small persistent settings of the privacy jobs (the reporting cycle period Atlassian asked for)."""

    __tablename__ = "privacy_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DsrRow(Base):
    """A data subject request. The identity (account id or e-mail) is sealed under the request's own key."""

    __tablename__ = "dsr_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    identity_kind: Mapped[str] = mapped_column(String(16))  # account, email
    identity: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # access, erasure, both
    state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verification: Mapped[str | None] = mapped_column(String(500), nullable=True)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MarketplaceContactRow(Base):
    """A technical contact from a Marketplace licence export, sealed under its own key (owner
    ``charter:contact:<id>``); ``email_digest`` (HMAC) finds it without the address in clear."""

    __tablename__ = "marketplace_contacts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    company: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    source: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContactSuppressionRow(Base):
    """An address that unsubscribed or asked for deletion (as an HMAC digest): never imported or mailed again."""

    __tablename__ = "contact_suppressions"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))  # unsubscribed, deleted
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvidenceRow(Base):
    """The latest outcome of one evidence check (``charter verify``, the trust page): shared by every replica."""

    __tablename__ = "evidence"

    check: Mapped[str] = mapped_column(String(64), primary_key=True)
    charter: Mapped[str] = mapped_column(String(32))  # digest of the charter the check ran under
    status: Mapped[str] = mapped_column(String(16))  # pass, fail, unknown
    summary: Mapped[str] = mapped_column(Text)
    measured: Mapped[str] = mapped_column(Text)  # JSON
    at: Mapped[datetime] = mapped_column(UTCDateTime())
