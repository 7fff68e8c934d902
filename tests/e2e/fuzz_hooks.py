"""schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/sdp")
def _sdp(ctx: Any, value: Any) -> bytes:
    """WHIP/WHEP offers are SDP text; the fuzzer's strings go as they are (a bad offer must be a 4xx)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


# JSON Schema cannot say "starts with the picture's magic bytes": a schema-valid value (a string) goes
# as a picture of the declared type with the fuzzer's bytes after its signature, so it must be taken;
# anything else (the negative phase's numbers, objects...) goes as JSON, which must be refused
MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBP",
}


def _picture(magic: bytes, value: Any) -> bytes:
    if isinstance(value, bytes):
        return magic + value
    if isinstance(value, str):
        return magic + value.encode()
    return json.dumps(value).encode()


@schemathesis.serializer("image/png")
def _png(ctx: Any, value: Any) -> bytes:
    return _picture(MAGIC["image/png"], value)


@schemathesis.serializer("image/jpeg")
def _jpeg(ctx: Any, value: Any) -> bytes:
    return _picture(MAGIC["image/jpeg"], value)


@schemathesis.serializer("image/webp")
def _webp(ctx: Any, value: Any) -> bytes:
    return _picture(MAGIC["image/webp"], value)
