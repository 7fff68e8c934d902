"""money in minor units as 64-bit integers: prices and amounts up to the API's cap fit (a 32-bit
column refused anything above 21,474,836.47 yuan with a database error)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    ("skus", "price_minor", False),
    ("orders", "unit_price_minor", False),
    ("orders", "total_minor", False),
    ("payments", "amount_minor", False),
    ("payments", "paid_amount_minor", True),
    ("refunds", "amount_minor", False),
    ("live_listings", "live_price_minor", True),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite's INTEGER is 64-bit already
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=nullable
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=nullable
        )
