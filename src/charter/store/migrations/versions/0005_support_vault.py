"""support vault: cases, attachments, messages

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.store._types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_cases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer", sa.LargeBinary(), nullable=True),
        sa.Column("subject", sa.LargeBinary(), nullable=True),
        sa.Column("opened_at", charter.store._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", charter.store._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attachments_deleted_at", charter.store._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("communications_deleted_at", charter.store._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hold_reason", sa.String(length=500), nullable=True),
        sa.Column("hold_since", charter.store._types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_cases")),
    )
    with op.batch_alter_table("support_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_cases_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "support_attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", charter.store._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("redaction", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["support_cases.id"],
            name=op.f("fk_support_attachments_case_id_support_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_attachments")),
    )
    with op.batch_alter_table("support_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_attachments_case_id"), ["case_id"], unique=False)
    op.create_table(
        "support_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("at", charter.store._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["support_cases.id"],
            name=op.f("fk_support_messages_case_id_support_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_messages_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("support_messages")
    op.drop_table("support_attachments")
    op.drop_table("support_cases")
