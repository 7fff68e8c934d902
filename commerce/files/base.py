"""What a file store is: bytes in with their content type, a key out; bytes back by key; delete;
exists. This module holds the ``FileStore`` protocol, the ``StoredFile`` and ``FileReader`` it hands
back (whole, or in chunks), the shape of
a key (``new_key``, ``valid_key``) and ``create_file_store``, which chooses the store by URL and
imports its implementation lazily: ``LocalFileStore`` (``local.py``, a directory, the default) or
``MemoryFileStore`` (``memory.py``, tests). An object store (``s3://``) can be added the same way.

A key is 32 lower-case hex characters chosen at random by the store, never by the caller: it names
nothing of the file (not its name, not its owner) and cannot reach outside the store. A key of any
other shape is simply not there (``get`` None, ``exists``/``delete`` False).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

_KEY = re.compile(r"^[0-9a-f]{32}$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+(; ?[A-Za-z0-9=\-_. ]+)*$")
SCHEMES = ("file", "memory")
CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class FileReader:
    """A stored file to read in chunks (a video need not be held in memory whole): ``chunks()`` once."""

    key: str
    content_type: str
    size: int
    chunks: Callable[[], AsyncIterator[bytes]]


class FileStore(Protocol):
    async def put(self, data: bytes, content_type: str) -> str:
        """Keep ``data`` whole (a reader never sees part of it); the new file's key."""
        ...

    async def get(self, key: str) -> StoredFile | None:
        """The file and its content type; None when there is no such file (or the key is malformed)."""
        ...

    async def open(self, key: str) -> FileReader | None:
        """The file to read in chunks of at most ``CHUNK`` bytes; None as for ``get``."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the file; whether there was one."""
        ...

    async def exists(self, key: str) -> bool: ...


def new_key() -> str:
    return secrets.token_hex(16)


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def check_content_type(content_type: str) -> str:
    """A content type a store may keep (one line, ``type/subtype`` with parameters); else ValueError."""
    if len(content_type) > 200 or not _CONTENT_TYPE.match(content_type):
        raise ValueError(f"not a content type: {content_type!r}")
    return content_type


def create_file_store(url: str) -> FileStore:
    """``file:///abs/path`` or ``file:./relative/path``: a local directory; ``memory://``: this process
    only (tests). Any other scheme is refused."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        from commerce.files.memory import MemoryFileStore

        return MemoryFileStore()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file store URL {url!r} names a host; use file:///abs/path or file:./path")
        path = unquote(parts.path)
        if not path:
            raise ValueError(f"file store URL {url!r} names no directory")
        from commerce.files.local import LocalFileStore

        return LocalFileStore(Path(path))
    raise ValueError(
        f"unsupported file store URL scheme {scheme or url!r}; use file:///abs/path, file:./path or memory://"
    )
