"""anti-block, platform gates, previews, live codes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:42:46.829532
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qunyun.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("sticky_days", sa.Integer(), nullable=False),
        sa.Column("default_threshold", sa.Integer(), nullable=False),
        sa.Column("default_expiry_days", sa.Integer(), nullable=False),
        sa.Column("active_hours", sa.JSON(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("fallback_message", sa.Text(), nullable=True),
        sa.Column("fallback_contact", sa.String(length=500), nullable=True),
        sa.Column("fallback_image", sa.LargeBinary(), nullable=True),
        sa.Column("fallback_image_type", sa.String(length=32), nullable=True),
        sa.Column("alert_webhook_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_live_codes_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_live_codes_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["live_codes.id"],
            name=op.f("fk_live_codes_merged_into_id_live_codes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_codes")),
    )
    with op.batch_alter_table("live_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_live_codes_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "live_code_channels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_code_id"],
            ["live_codes.id"],
            name=op.f("fk_live_code_channels_live_code_id_live_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_code_channels")),
    )
    with op.batch_alter_table("live_code_channels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_live_code_channels_live_code_id"), ["live_code_id"], unique=False
        )

    op.create_table(
        "live_code_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("image_type", sa.String(length=32), nullable=False),
        sa.Column("qr_text", sa.Text(), nullable=False),
        sa.Column("payload_kind", sa.String(length=32), nullable=False),
        sa.Column("scan_threshold", sa.Integer(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("expires_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("working_hours", sa.JSON(), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_code_id"],
            ["live_codes.id"],
            name=op.f("fk_live_code_members_live_code_id_live_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_code_members")),
    )
    with op.batch_alter_table("live_code_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_live_code_members_code_position", ["live_code_id", "position"], unique=False
        )

    op.create_table(
        "live_code_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["live_code_id"],
            ["live_codes.id"],
            name=op.f("fk_live_code_alerts_live_code_id_live_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["live_code_members.id"],
            name=op.f("fk_live_code_alerts_member_id_live_code_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_code_alerts")),
    )
    with op.batch_alter_table("live_code_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_live_code_alerts_code_kind", ["live_code_id", "kind"], unique=False
        )

    op.create_table(
        "live_code_presses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ts", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_key", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_live_code_presses_link_id_links"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["live_code_id"],
            ["live_codes.id"],
            name=op.f("fk_live_code_presses_live_code_id_live_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["live_code_members.id"],
            name=op.f("fk_live_code_presses_member_id_live_code_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_code_presses")),
    )
    with op.batch_alter_table("live_code_presses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_live_code_presses_code_day", ["live_code_id", "day"], unique=False
        )

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "anti_block_mode", sa.String(length=16), nullable=False, server_default="guide"
            )
        )
        batch_op.add_column(sa.Column("guide_apps", sa.JSON(), nullable=True))

    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="url")
        )
        batch_op.add_column(
            sa.Column(
                "live_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(sa.Column("allowed_apps", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("allowed_devices", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("allowed_os", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("anti_block_mode", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("preview_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("preview_description", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("preview_image_url", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_links_live_code_id"), ["live_code_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_links_live_code_id_live_codes"),
            "live_codes",
            ["live_code_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_links_channel_id_live_code_channels"),
            "live_code_channels",
            ["channel_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_visits_member_id_live_code_members"),
            "live_code_members",
            ["member_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_visits_member_id_live_code_members"), type_="foreignkey"
        )
        batch_op.drop_column("member_id")

    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_links_channel_id_live_code_channels"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_links_live_code_id_live_codes"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_links_live_code_id"))
        batch_op.drop_column("preview_image_url")
        batch_op.drop_column("preview_description")
        batch_op.drop_column("preview_title")
        batch_op.drop_column("anti_block_mode")
        batch_op.drop_column("allowed_os")
        batch_op.drop_column("allowed_devices")
        batch_op.drop_column("allowed_apps")
        batch_op.drop_column("channel_id")
        batch_op.drop_column("live_code_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("guide_apps")
        batch_op.drop_column("anti_block_mode")

    with op.batch_alter_table("live_code_presses", schema=None) as batch_op:
        batch_op.drop_index("ix_live_code_presses_code_day")

    op.drop_table("live_code_presses")
    with op.batch_alter_table("live_code_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_live_code_alerts_code_kind")

    op.drop_table("live_code_alerts")
    with op.batch_alter_table("live_code_members", schema=None) as batch_op:
        batch_op.drop_index("ix_live_code_members_code_position")

    op.drop_table("live_code_members")
    with op.batch_alter_table("live_code_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_code_channels_live_code_id"))

    op.drop_table("live_code_channels")
    with op.batch_alter_table("live_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_codes_community_id"))

    op.drop_table("live_codes")
