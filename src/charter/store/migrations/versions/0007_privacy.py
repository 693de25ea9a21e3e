"""privacy operations: account references, personal-data reporting state, DSRs, Marketplace contacts

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.store._types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = charter.store._types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "account_refs",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("retrieved_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "holder", "key", "account_id", name=op.f("pk_account_refs")),
    )
    with op.batch_alter_table("account_refs", schema=None) as batch_op:
        batch_op.create_index("ix_account_refs_account_id", ["account_id"], unique=False)
    op.create_table(
        "account_reports",
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_reported_at", _UTC(timezone=True), nullable=True),
        sa.Column("closed_at", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_reports")),
    )
    op.create_table(
        "privacy_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_privacy_settings")),
    )
    op.create_table(
        "dsr_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("identity_kind", sa.String(length=16), nullable=False),
        sa.Column("identity", sa.LargeBinary(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("received_at", _UTC(timezone=True), nullable=False),
        sa.Column("due_at", _UTC(timezone=True), nullable=False),
        sa.Column("extension_reason", sa.String(length=500), nullable=True),
        sa.Column("verified_at", _UTC(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verification", sa.String(length=500), nullable=True),
        sa.Column("exported_at", _UTC(timezone=True), nullable=True),
        sa.Column("erased_at", _UTC(timezone=True), nullable=True),
        sa.Column("closed_at", _UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsr_requests")),
    )
    op.create_table(
        "marketplace_contacts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=True),
        sa.Column("company", sa.LargeBinary(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("imported_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_contacts")),
        sa.UniqueConstraint("email_digest", name=op.f("uq_marketplace_contacts_email_digest")),
    )
    op.create_table(
        "contact_suppressions",
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email_digest", name=op.f("pk_contact_suppressions")),
    )


def downgrade() -> None:
    op.drop_table("contact_suppressions")
    op.drop_table("marketplace_contacts")
    op.drop_table("dsr_requests")
    op.drop_table("privacy_settings")
    op.drop_table("account_reports")
    with op.batch_alter_table("account_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_account_refs_account_id")
    op.drop_table("account_refs")
