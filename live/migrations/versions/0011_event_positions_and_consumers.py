"""outbox events get a position in commit order; consumers of events keep their progress

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index("ix_outbox_events_position", ["position", "id"], unique=False)
    # every event written so far has committed: its id is as good a commit order as any
    op.execute("UPDATE outbox_events SET position = id")

    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_consumers")),
    )
    # the first consumers start after the events already there (their reactions ran in the handlers
    # that wrote them); a consumer added later starts at the beginning
    for name in ("stock-flips", "ledger-mirror", "bought-notices", "stream-cut"):
        op.execute(
            sa.text(
                "INSERT INTO event_consumers (name, position, updated_at) "
                "SELECT :name, COALESCE(MAX(position), 0), CURRENT_TIMESTAMP FROM outbox_events"
            ).bindparams(name=name)
        )


def downgrade() -> None:
    op.drop_table("event_consumers")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_position")
        batch_op.drop_column("position")
