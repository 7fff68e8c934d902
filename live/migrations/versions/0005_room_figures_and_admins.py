"""room audience figures and room admins

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("live_rooms", schema=None) as batch_op:
        for name in ("peak_viewers", "unique_viewers", "likes"):
            batch_op.add_column(sa.Column(name, BIG, server_default="0", nullable=False))

    op.create_table(
        "room_admins",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("room_id", BIG, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("named_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["live_rooms.id"], name=op.f("fk_room_admins_room_id_live_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_admins")),
        sa.UniqueConstraint("room_id", "user_id", name=op.f("uq_room_admins_room_id")),
    )
    with op.batch_alter_table("room_admins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_admins_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_admins_room_id"))
    op.drop_table("room_admins")
    with op.batch_alter_table("live_rooms", schema=None) as batch_op:
        for name in ("likes", "unique_viewers", "peak_viewers"):
            batch_op.drop_column(name)
