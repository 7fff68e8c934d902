"""Files people hand us (after-sales evidence first): a store chosen by URL (``base.py``: the
``FileStore`` protocol and ``create_file_store``; ``local.py``, ``memory.py``), what a file is by its
bytes and whether it may be kept (``content.py``), and signed, expiring links to fetch one
(``links.py``). ``keep`` checks a file's content, then stores it under the type its bytes showed."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.files.base import FileReader, FileStore, StoredFile, create_file_store, valid_key
from commerce.files.content import ACCEPTED, Detected, FileLimits, check, describe, sniff
from commerce.files.links import FILES_PATH, FileLinks


@dataclass(frozen=True)
class Kept:
    key: str
    kind: str
    content_type: str
    size: int


async def keep(store: FileStore, data: bytes, limits: FileLimits) -> Kept:
    """Check ``data`` by its bytes (FileRefused if refused), then store it; what was kept."""
    found = check(data, limits)
    key = await store.put(data, found.content_type)
    return Kept(key, found.kind, found.content_type, len(data))


__all__ = [
    "ACCEPTED",
    "FILES_PATH",
    "Detected",
    "FileLimits",
    "FileLinks",
    "FileReader",
    "FileStore",
    "Kept",
    "StoredFile",
    "check",
    "create_file_store",
    "describe",
    "keep",
    "sniff",
    "valid_key",
]
