"""Messaging between processes: the broker (publish/subscribe with history, per topic) and the room
counters (presence, likes), each chosen by URL, implementations imported lazily."""

from __future__ import annotations

from live.broker.base import (
    Broker,
    Counters,
    History,
    OnlineFigures,
    Position,
    Publication,
    RoomFigures,
    room_topic,
    user_topic,
)


def _scheme(url: str | None) -> str:
    scheme = (url or "memory://").split("://", 1)[0].lower()
    if scheme not in {"memory", "redis", "rediss", "unix"}:
        raise ValueError(f"unsupported broker URL scheme {scheme!r}; use memory:// or redis://")
    return scheme


def create_broker(
    url: str | None, *, history_size: int = 1000, chat_history: int = 50, prefix: str = "yc"
) -> Broker:
    """``None`` or ``memory://``: this process only. ``redis://`` / ``rediss://``: across processes."""
    if _scheme(url) == "memory":
        from live.broker.memory import MemoryBroker

        return MemoryBroker(history_size=history_size, chat_history=chat_history)
    from live.broker.redis import RedisBroker

    assert url is not None
    return RedisBroker(url, history_size=history_size, chat_history=chat_history, prefix=prefix)


def create_counters(url: str | None, *, prefix: str = "yc") -> Counters:
    """The room counters on the same kind of back-end as the broker."""
    if _scheme(url) == "memory":
        from live.broker.memory import MemoryCounters

        return MemoryCounters()
    from live.broker.redis import RedisCounters

    assert url is not None
    return RedisCounters(url, prefix=prefix)


__all__ = [
    "Broker",
    "Counters",
    "History",
    "OnlineFigures",
    "Position",
    "Publication",
    "RoomFigures",
    "create_broker",
    "create_counters",
    "room_topic",
    "user_topic",
]
