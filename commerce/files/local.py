"""``LocalFileStore``: files kept in one directory (the default; several servers share it over shared
storage). Each file is ``<directory>/<key[:2]>/<key>``: one line with its content type, then its bytes.
A file is written to a temporary name in the same directory and renamed into place, so a reader sees
it whole or not at all, and a crash leaves at most a ``.tmp-`` file behind. Keys are the store's own
(``base.valid_key``), so no key reaches outside the directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from commerce.files.base import CHUNK, FileReader, StoredFile, check_content_type, new_key, valid_key


class LocalFileStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path | None:
        return self.directory / key[:2] / key if valid_key(key) else None

    async def put(self, data: bytes, content_type: str) -> str:
        header = check_content_type(content_type).encode() + b"\n"
        key = new_key()
        path = self._path(key)
        assert path is not None
        await asyncio.to_thread(self._write, path, header, data)
        return key

    async def get(self, key: str) -> StoredFile | None:
        path = self._path(key)
        if path is None:
            return None
        raw = await asyncio.to_thread(_read, path)
        if raw is None:
            return None
        header, _, data = raw.partition(b"\n")
        return StoredFile(key, header.decode(), data)

    async def open(self, key: str) -> FileReader | None:
        path = self._path(key)
        if path is None:
            return None
        opened = await asyncio.to_thread(_open, path)
        if opened is None:
            return None
        f, content_type, size = opened

        async def chunks() -> AsyncIterator[bytes]:
            # the file was opened before: a delete meanwhile does not cut a reader short
            try:
                while chunk := await asyncio.to_thread(f.read, CHUNK):
                    yield chunk
            finally:
                f.close()

        return FileReader(key, content_type, size, chunks)

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        if path is None:
            return False
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return path is not None and await asyncio.to_thread(path.is_file)

    def _write(self, path: Path, header: bytes, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # whole or not at all
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def _open(path: Path) -> tuple[BinaryIO, str, int] | None:
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return None
    try:
        header = f.readline()
        size = os.fstat(f.fileno()).st_size - len(header)
    except BaseException:
        f.close()
        raise
    return f, header.rstrip(b"\n").decode(), size


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
