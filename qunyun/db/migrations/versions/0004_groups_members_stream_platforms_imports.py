"""Groups, members and their history; the stream; platform connections and actions; imports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:10:30.164208
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qunyun.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_connections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("inbound_secret", sa.String(length=256), nullable=True),
        sa.Column("access_token", sa.String(length=256), nullable=True),
        sa.Column("api_url", sa.Text(), nullable=True),
        sa.Column("self_id", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_count", sa.Integer(), nullable=False),
        sa.Column("unknown_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_platform_connections_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_connections")),
        sa.UniqueConstraint("key", name=op.f("uq_platform_connections_key")),
    )
    with op.batch_alter_table("platform_connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_platform_connections_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("platform_group_id", sa.String(length=128), nullable=False),
        sa.Column(
            "connection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("introduction", sa.Text(), nullable=True),
        sa.Column("announcement", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("rule_book_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_groups_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["platform_connections.id"],
            name=op.f("fk_groups_connection_id_platform_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["groups.id"],
            name=op.f("fk_groups_parent_id_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint(
            "community_id",
            "platform",
            "platform_group_id",
            name=op.f("uq_groups_community_id_platform_platform_group_id"),
        ),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_community_id"), ["community_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_groups_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_groups_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column("records_seen", sa.Integer(), nullable=False),
        sa.Column("records_added", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_import_jobs_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_import_jobs_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_import_jobs_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_jobs_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_jobs_sha256"), ["sha256"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("first_joined_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("join_order", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "source_live_code_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "source_channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "inviter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("titles", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("last_active_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_members_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["members.id"],
            name=op.f("fk_members_inviter_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["members.id"],
            name=op.f("fk_members_merged_into_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_channel_id"],
            ["live_code_channels.id"],
            name=op.f("fk_members_source_channel_id_live_code_channels"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_live_code_id"],
            ["live_codes.id"],
            name=op.f("fk_members_source_live_code_id_live_codes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint(
            "community_id", "join_order", name=op.f("uq_members_community_id_join_order")
        ),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_community_id"), ["community_id"], unique=False)
        batch_op.create_index(
            "ix_members_community_last_active", ["community_id", "last_active_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_members_inviter_id"), ["inviter_id"], unique=False)

    op.create_table(
        "platform_actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "connection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column(
            "requested_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "done_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_platform_actions_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["platform_connections.id"],
            name=op.f("fk_platform_actions_connection_id_platform_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["users.id"],
            name=op.f("fk_platform_actions_done_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_platform_actions_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_platform_actions_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_actions")),
    )
    with op.batch_alter_table("platform_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_platform_actions_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_platform_actions_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            "ix_platform_actions_status_next", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "group_memberships",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("nickname", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("left_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_active_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_group_memberships_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
        sa.UniqueConstraint(
            "group_id", "member_id", name=op.f("uq_group_memberships_group_id_member_id")
        ),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_memberships_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "identity_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "other_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("identity_ids", sa.JSON(), nullable=False),
        sa.Column(
            "by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_identity_changes_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_identity_changes_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_identity_changes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_member_id"],
            ["members.id"],
            name=op.f("fk_identity_changes_other_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_changes")),
    )
    with op.batch_alter_table("identity_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_changes_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identity_changes_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "member_identities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("platform_user_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_member_identities_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_identities_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_identities")),
        sa.UniqueConstraint(
            "community_id",
            "platform",
            "platform_user_id",
            name=op.f("uq_member_identities_community_id_platform_platform_user_id"),
        ),
    )
    with op.batch_alter_table("member_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_identities_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_member_identities_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "member_tags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_tags_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_tags")),
        sa.UniqueConstraint("member_id", "tag", name=op.f("uq_member_tags_member_id_tag")),
    )
    with op.batch_alter_table("member_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_tags_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "stream_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("platform_record_id", sa.String(length=191), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("occurred_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("platform_user_id", sa.String(length=128), nullable=True),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("message_kind", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reply_to", sa.String(length=128), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_stream_records_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_stream_records_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_stream_records_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_records")),
        sa.UniqueConstraint(
            "community_id",
            "platform",
            "platform_record_id",
            name=op.f("uq_stream_records_community_id_platform_platform_record_id"),
        ),
    )
    with op.batch_alter_table("stream_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stream_records_group_message", ["group_id", "message_id"], unique=False
        )
        batch_op.create_index(
            "ix_stream_records_group_occurred", ["group_id", "occurred_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_stream_records_member_occurred", ["member_id", "occurred_at"], unique=False
        )

    op.create_table(
        "membership_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column(
            "by_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("occurred_at", qunyun.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_member_id"],
            ["members.id"],
            name=op.f("fk_membership_changes_by_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_membership_changes_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_membership_changes_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_membership_changes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["stream_records.id"],
            name=op.f("fk_membership_changes_record_id_stream_records"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_changes")),
        sa.UniqueConstraint("record_id", name=op.f("uq_membership_changes_record_id")),
    )
    with op.batch_alter_table("membership_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_changes_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            "ix_membership_changes_member_at", ["member_id", "occurred_at"], unique=False
        )

    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_kinds", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tier_bands", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("description")
        batch_op.drop_column("tier_bands")
        batch_op.drop_column("group_kinds")

    with op.batch_alter_table("membership_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_changes_member_at")
        batch_op.drop_index(batch_op.f("ix_membership_changes_group_id"))

    op.drop_table("membership_changes")
    with op.batch_alter_table("stream_records", schema=None) as batch_op:
        batch_op.drop_index("ix_stream_records_member_occurred")
        batch_op.drop_index("ix_stream_records_group_occurred")
        batch_op.drop_index("ix_stream_records_group_message")

    op.drop_table("stream_records")
    with op.batch_alter_table("member_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_tags_tag"))
        batch_op.drop_index(batch_op.f("ix_member_tags_member_id"))

    op.drop_table("member_tags")
    with op.batch_alter_table("member_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_identities_member_id"))
        batch_op.drop_index(batch_op.f("ix_member_identities_community_id"))

    op.drop_table("member_identities")
    with op.batch_alter_table("identity_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_changes_member_id"))
        batch_op.drop_index(batch_op.f("ix_identity_changes_community_id"))

    op.drop_table("identity_changes")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_memberships_member_id"))

    op.drop_table("group_memberships")
    with op.batch_alter_table("platform_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_actions_status_next")
        batch_op.drop_index(batch_op.f("ix_platform_actions_group_id"))
        batch_op.drop_index(batch_op.f("ix_platform_actions_community_id"))

    op.drop_table("platform_actions")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_inviter_id"))
        batch_op.drop_index("ix_members_community_last_active")
        batch_op.drop_index(batch_op.f("ix_members_community_id"))

    op.drop_table("members")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_sha256"))
        batch_op.drop_index(batch_op.f("ix_import_jobs_community_id"))

    op.drop_table("import_jobs")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_parent_id"))
        batch_op.drop_index(batch_op.f("ix_groups_connection_id"))
        batch_op.drop_index(batch_op.f("ix_groups_community_id"))

    op.drop_table("groups")
    with op.batch_alter_table("platform_connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_connections_community_id"))

    op.drop_table("platform_connections")
