"""What follows the end of a room, whoever ended it (its shop, staff, or a stream lost for too long):
its sales close in the stock ledger and its stream is cut at the media provider. Both are idempotent."""

from __future__ import annotations

from live.container import Services
from live.ordering.jobs import room_sales_closed


async def room_closed(services: Services, room_id: int) -> None:
    await services.streams.room_closed(room_id)
    await room_sales_closed(services, room_id)
