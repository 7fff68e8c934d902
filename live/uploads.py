"""Pictures people upload (room covers, for now): the type read from the bytes themselves (PNG, JPEG or
WebP; never the name or the declared type), kept under ``UPLOAD_DIR`` by the hash of their content (so
the same picture uploaded twice is one file, and a name never changes what it serves), and served
back at ``/uploads/images/<name>``. One local directory: a deployment with several servers points them
all at shared storage (kept files of other kinds go through ``commerce.files``)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from commerce.core.errors import InvalidInput
from commerce.core.identity import Principal, Role
from commerce.files.content import sniff

IMAGES_PATH = "/uploads/images"
UPLOADERS = (Role.STREAMER, Role.SHOP_OPERATOR, Role.PLATFORM_STAFF)
# extension and served type by the file's first bytes
KINDS = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
_EXT = {content_type: ext for ext, content_type in KINDS.items()}


def sniff_image(data: bytes) -> str | None:
    """``png``, ``jpg`` or ``webp`` by the file's magic bytes (``commerce.files.content``); None for
    anything else (a GIF too: covers are PNG, JPEG or WebP)."""
    found = sniff(data)
    return _EXT.get(found.content_type) if found is not None else None


@dataclass(frozen=True)
class StoredImage:
    name: str
    url: str
    content_type: str
    size: int


class ImageStore:
    """A directory of uploaded pictures, each named by its content's hash and its type."""

    def __init__(self, directory: Path, base_url: str) -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/")

    def url(self, name: str) -> str:
        return f"{self.base_url}{IMAGES_PATH}/{name}"

    async def save(self, data: bytes, ext: str) -> StoredImage:
        name = hashlib.sha256(data).hexdigest()[:40] + "." + ext
        await asyncio.to_thread(self._write, name, data)
        return StoredImage(name, self.url(name), KINDS[ext], len(data))

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        if target.exists():
            return
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)  # whole or not at all: a reader never sees half a picture
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


async def upload_image(store: ImageStore, actor: Principal, data: bytes) -> StoredImage:
    """A streamer, shop operator or staff member uploads a PNG, JPEG or WebP picture."""
    actor.require(*UPLOADERS)
    ext = sniff_image(data)
    if ext is None:
        raise InvalidInput(
            "the body is not a PNG, JPEG or WebP picture (judged by its first bytes)",
            details={"accepted": sorted(KINDS.values())},
        )
    return await store.save(data, ext)
