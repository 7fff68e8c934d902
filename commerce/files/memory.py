"""``MemoryFileStore``: files kept in this process's memory (tests; lost at exit)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from commerce.files.base import CHUNK, FileReader, StoredFile, check_content_type, new_key, valid_key


class MemoryFileStore:
    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}

    async def put(self, data: bytes, content_type: str) -> str:
        key = new_key()
        self._files[key] = StoredFile(key, check_content_type(content_type), bytes(data))
        return key

    async def get(self, key: str) -> StoredFile | None:
        return self._files.get(key) if valid_key(key) else None

    async def open(self, key: str) -> FileReader | None:
        stored = await self.get(key)
        if stored is None:
            return None
        data = stored.data

        async def chunks() -> AsyncIterator[bytes]:
            for at in range(0, len(data), CHUNK):
                yield data[at : at + CHUNK]

        return FileReader(key, stored.content_type, len(data), chunks)

    async def delete(self, key: str) -> bool:
        return valid_key(key) and self._files.pop(key, None) is not None

    async def exists(self, key: str) -> bool:
        return valid_key(key) and key in self._files
