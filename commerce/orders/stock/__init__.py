"""Stock ledgers, chosen by URL: the protocol and its values (``base.py``), the database's own
counters (``database.py``, the embedded default) and Redis with Lua scripts (``redis.py``),
implementations imported lazily by ``create_stock``."""

from __future__ import annotations

from commerce.orders.stock.base import (
    INSUFFICIENT,
    LIMIT,
    NOT_OPEN,
    NOT_STARTED,
    SOLD_OUT,
    UNKNOWN,
    Counters,
    SaleConfig,
    StockLedger,
    Take,
    create_stock,
)

__all__ = [
    "INSUFFICIENT",
    "LIMIT",
    "NOT_OPEN",
    "NOT_STARTED",
    "SOLD_OUT",
    "UNKNOWN",
    "Counters",
    "SaleConfig",
    "StockLedger",
    "Take",
    "create_stock",
]
