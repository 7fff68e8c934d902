"""What the CDN providers (Aliyun, Tencent) share: safe names in signed URLs, and recordings as replays."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from media.provider import Replay

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    """The vendors' API timestamp format: ISO 8601, UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_stream(stream: str) -> None:
    """Stream names go into signed URLs and API calls as they are: refuse anything else."""
    if not SAFE_NAME.match(stream):
        raise ValueError(f"unsafe stream name {stream!r}")


def seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def hls_replay(url: str | None, duration: Any, *, is_hls: bool = False) -> Replay | None:
    """A recording the CDN stored, as a replay: only an HLS playlist (``is_hls``, or an ``.m3u8`` URL)
    at an http(s) URL that recorded something. No cover is taken (the CDN's own snapshots serve)."""
    if not url or not url.startswith(("http://", "https://")):
        return None
    if not is_hls and not urlsplit(url).path.endswith(".m3u8"):
        return None
    length = seconds(duration)
    if length is not None and length <= 0:
        return None
    return Replay(hls=url, cover=None, duration_s=length)
