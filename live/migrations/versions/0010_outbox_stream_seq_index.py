"""outbox events readable by stream position: a room's missed events are read from the outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_events_stream_seq", "outbox_events", ["stream", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_events_stream_seq", table_name="outbox_events")
