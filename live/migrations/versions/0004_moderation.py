"""moderation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 03:57:28.072092
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderation_words",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_words")),
        sa.UniqueConstraint("word", name=op.f("uq_moderation_words_word")),
    )
    op.create_table(
        "moderation_reviews",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("chat_id", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("original", sa.String(length=1000), nullable=False),
        sa.Column("shown", sa.String(length=1000), nullable=False),
        sa.Column("words", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["live_rooms.id"],
            name=op.f("fk_moderation_reviews_room_id_live_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_reviews")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_moderation_reviews_chat_id")),
    )
    with op.batch_alter_table("moderation_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_reviews_room_id"), ["room_id"], unique=False)
        batch_op.create_index("ix_moderation_reviews_status", ["status", "id"], unique=False)

    op.create_table(
        "room_mutes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("muted_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["live_rooms.id"], name=op.f("fk_room_mutes_room_id_live_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_mutes")),
        sa.UniqueConstraint("room_id", "user_id", name=op.f("uq_room_mutes_room_id")),
    )
    with op.batch_alter_table("room_mutes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_mutes_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_mutes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_mutes_room_id"))

    op.drop_table("room_mutes")
    with op.batch_alter_table("moderation_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_reviews_status")
        batch_op.drop_index(batch_op.f("ix_moderation_reviews_room_id"))

    op.drop_table("moderation_reviews")
    op.drop_table("moderation_words")
