"""a room without a cover has none (null) rather than an empty address

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("live_rooms") as batch:
        batch.alter_column("cover_url", existing_type=sa.String(length=500), nullable=True)
    op.execute("UPDATE live_rooms SET cover_url = NULL WHERE cover_url = ''")


def downgrade() -> None:
    op.execute("UPDATE live_rooms SET cover_url = '' WHERE cover_url IS NULL")
    with op.batch_alter_table("live_rooms") as batch:
        batch.alter_column("cover_url", existing_type=sa.String(length=500), nullable=False)
