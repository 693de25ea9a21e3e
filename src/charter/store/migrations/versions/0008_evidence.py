"""evidence: the latest outcome of each promise's check

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.store._types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("charter", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("measured", sa.Text(), nullable=False),
        sa.Column("at", charter.store._types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("check", name=op.f("pk_evidence")),
    )


def downgrade() -> None:
    op.drop_table("evidence")
