"""Uploads: a picture as stored (its public URL, type and size)."""

from __future__ import annotations

from pydantic import Field

from live.api.schemas.common import Out


class ImageOut(Out):
    name: str = Field(description="the stored file's name: the hash of its content and its type")
    url: str = Field(description="where the picture is served (e.g. a room's cover_url)")
    content_type: str = Field(description="image/png, image/jpeg or image/webp, read from the bytes")
    size: int = Field(description="bytes")
