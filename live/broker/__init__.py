"""The broker moves room messages between processes; chosen by URL, implementations imported lazily."""

from __future__ import annotations

from live.broker.base import Broker, History, OnlineFigures, Position, Publication, RoomFigures


def create_broker(
    url: str | None, *, history_size: int = 1000, chat_history: int = 50, prefix: str = "yc"
) -> Broker:
    """``None`` or ``memory://``: this process only. ``redis://`` / ``rediss://``: across processes."""
    scheme = (url or "memory://").split("://", 1)[0].lower()
    if scheme == "memory":
        from live.broker.memory import MemoryBroker

        return MemoryBroker(history_size=history_size, chat_history=chat_history)
    if scheme in {"redis", "rediss", "unix"}:
        from live.broker.redis import RedisBroker

        assert url is not None
        return RedisBroker(url, history_size=history_size, chat_history=chat_history, prefix=prefix)
    raise ValueError(f"unsupported broker URL scheme {scheme!r}; use memory:// or redis://")


__all__ = ["Broker", "History", "OnlineFigures", "Position", "Publication", "RoomFigures", "create_broker"]
