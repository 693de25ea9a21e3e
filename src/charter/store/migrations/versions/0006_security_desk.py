"""security desk: reports, notifications, alerts, tenant contacts; tenants.app_version

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.store._types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = charter.store._types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("app_version", sa.String(length=64), nullable=True))
    op.create_table(
        "security_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("intake", sa.String(length=16), nullable=False),
        sa.Column("intake_ref", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("app_key", sa.String(length=100), nullable=True),
        sa.Column("affected", sa.String(length=200), nullable=True),
        sa.Column("fixed_version", sa.String(length=64), nullable=True),
        sa.Column("cvss_vector", sa.String(length=300), nullable=True),
        sa.Column("score_tenths", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("duplicate_of", sa.String(length=32), nullable=True),
        sa.Column("credit", sa.Boolean(), nullable=False),
        sa.Column("reporter", sa.LargeBinary(), nullable=True),
        sa.Column("contact", sa.LargeBinary(), nullable=True),
        sa.Column("summary", sa.LargeBinary(), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("advisory", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", _UTC(timezone=True), nullable=False),
        sa.Column("ack_due_at", _UTC(timezone=True), nullable=False),
        sa.Column("acknowledged_at", _UTC(timezone=True), nullable=True),
        sa.Column("triaged_at", _UTC(timezone=True), nullable=True),
        sa.Column("fix_started_at", _UTC(timezone=True), nullable=False),
        sa.Column("fix_due_at", _UTC(timezone=True), nullable=True),
        sa.Column("fixed_at", _UTC(timezone=True), nullable=True),
        sa.Column("released_at", _UTC(timezone=True), nullable=True),
        sa.Column("disclosed_at", _UTC(timezone=True), nullable=True),
        sa.Column("closed_at", _UTC(timezone=True), nullable=True),
        sa.Column("breach_aware_at", _UTC(timezone=True), nullable=True),
        sa.Column("authority_due_at", _UTC(timezone=True), nullable=True),
        sa.Column("customers_due_at", _UTC(timezone=True), nullable=True),
        sa.Column("authority_notified_at", _UTC(timezone=True), nullable=True),
        sa.Column("customers_notified_at", _UTC(timezone=True), nullable=True),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_reports")),
        sa.UniqueConstraint("intake_ref", name=op.f("uq_security_reports_intake_ref")),
    )
    with op.batch_alter_table("security_reports", schema=None) as batch_op:
        batch_op.create_index("ix_security_reports_state", ["state"], unique=False)
    op.create_table(
        "security_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["security_reports.id"],
            name=op.f("fk_security_notifications_report_id_security_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_notifications")),
        sa.UniqueConstraint("report_id", "kind", "tenant_id", name=op.f("uq_security_notifications_report_id")),
    )
    op.create_table(
        "security_alerts",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("clock", sa.String(length=24), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["security_reports.id"],
            name=op.f("fk_security_alerts_report_id_security_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "clock", "stage", name=op.f("pk_security_alerts")),
    )
    op.create_table(
        "tenant_contacts",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_contacts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_contacts")),
    )


def downgrade() -> None:
    op.drop_table("tenant_contacts")
    op.drop_table("security_alerts")
    op.drop_table("security_notifications")
    with op.batch_alter_table("security_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_security_reports_state")
    op.drop_table("security_reports")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("app_version")
