"""Stream steps inside the caller's transaction: reading a room's stream and its replays."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from live.streaming.models import RoomReplay, RoomStream


async def read_stream(s: AsyncSession, room_id: int) -> tuple[RoomStream | None, list[RoomReplay]]:
    row = await s.get(RoomStream, room_id)
    replays = list(
        await s.scalars(select(RoomReplay).where(RoomReplay.room_id == room_id).order_by(RoomReplay.id))
    )
    return row, replays
