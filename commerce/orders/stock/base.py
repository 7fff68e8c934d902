"""What a stock ledger is: take units of a sale for a buyer atomically (on sale, started, in stock,
within the buyer's limit), give them back, and expose the counters for reconciliation.

This module holds the ``StockLedger`` protocol, the values it passes (``SaleConfig``, ``Counters``,
``Take``), the reasons a take is refused, and ``create_stock``, which chooses the ledger by URL and
imports its implementation lazily: ``DatabaseStock`` (``database.py``, the embedded default) or
``RedisStock`` (``redis.py``). The allotment's configuration (total, limit, start, open) lives in the
database; a ledger mirrors it via ``configure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from commerce.core.database import Database

# why a take was refused
NOT_OPEN = "not_on_sale"
NOT_STARTED = "not_started"
SOLD_OUT = "sold_out"
INSUFFICIENT = "insufficient_stock"
LIMIT = "limit_reached"
UNKNOWN = "unknown_sale"  # the ledger has no record of the sale (e.g. Redis lost it): configure first


@dataclass(frozen=True)
class Take:
    ok: bool
    left: int  # units left after the take (ok) or now (refused)
    reason: str | None = None
    seconds_to_start: float | None = None
    user_units: int = 0  # units the buyer holds after the take (ok) or now (refused)
    order_id: int | None = None  # set instead when the Idempotency-Key already made an order


@dataclass(frozen=True)
class SaleConfig:
    sale_id: int
    total: int
    limit_per_user: int | None
    starts_at: datetime | None
    open: bool


@dataclass(frozen=True)
class Counters:
    sold: int
    users: dict[str, int]


class StockLedger(Protocol):
    keeps_marks: bool  # whether ``take`` answers a retry of an order from its Idempotency-Key

    async def take(self, sale_id: int, user_id: str, qty: int, now: datetime, key: str | None = None) -> Take:
        """Take units; with ``key`` a ledger that keeps marks first answers a retry (``order_id``)."""
        ...

    async def give_back(self, sale_id: int, user_id: str, qty: int) -> int:
        """Return units (a failed order write, a cancellation, an unpaid close); the units left."""
        ...

    async def configure(self, config: SaleConfig, counters: Counters | None = None) -> None:
        """Mirror the sale's configuration; ``counters`` also resets sold and per-user units."""
        ...

    async def counters(self, sale_id: int) -> Counters | None: ...

    async def sold(self, sale_ids: Sequence[int], session: AsyncSession | None = None) -> dict[int, int]:
        """Units taken of each sale the ledger knows (a sale it has no record of is left out). The
        database ledger reads them in ``session`` when given (the caller's transaction)."""
        ...

    async def remember_many(self, marks: list[tuple[str, str, int]]) -> None:
        """Remember (buyer, Idempotency-Key, order id) marks, if the ledger keeps them."""
        ...

    async def close(self) -> None: ...


def create_stock(url: str | None, db: Database, *, prefix: str = "yc") -> StockLedger:
    """``None``/``memory://``: the database's own counters; ``redis://``: counters in Redis."""
    scheme = (url or "memory://").split("://", 1)[0].lower()
    if scheme == "memory":
        from commerce.orders.stock.database import DatabaseStock

        return DatabaseStock(db)
    if scheme in {"redis", "rediss", "unix"}:
        from commerce.orders.stock.redis import RedisStock

        assert url is not None
        return RedisStock(url, prefix=prefix)
    raise ValueError(f"unsupported stock URL scheme {scheme!r}; use memory:// or redis://")
