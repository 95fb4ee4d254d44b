"""live code alerts: per-day dedupe key, webhook delivery schedule

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qunyun.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("live_code_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("next_delivery_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_live_code_alerts_dedupe_key"), ["dedupe_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("live_code_alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_live_code_alerts_dedupe_key"), type_="unique")
        batch_op.drop_column("next_delivery_at")
        batch_op.drop_column("dedupe_key")
