"""This process's view of the word list, refreshed every few seconds (changes apply within that)."""

from __future__ import annotations

import time

from commerce.core.database import Database
from live.moderation.actions import WordFilter, load_filter


class WordListCache:
    def __init__(self, db: Database, ttl_seconds: float = 5.0) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._filter = WordFilter([])
        self._loaded_at = float("-inf")

    async def get(self) -> WordFilter:
        if time.monotonic() - self._loaded_at > self._ttl:
            async with self._db.read() as s:
                self._filter = await load_filter(s)
            self._loaded_at = time.monotonic()
        return self._filter

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")
