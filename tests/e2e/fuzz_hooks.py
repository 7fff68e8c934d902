"""schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/sdp")
def _sdp(ctx: Any, value: Any) -> bytes:
    """WHIP/WHEP offers are SDP text; the fuzzer's strings go as they are (a bad offer must be a 4xx)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@schemathesis.serializer("image/png", "image/jpeg", "image/webp")
def _picture(ctx: Any, value: Any) -> bytes:
    """Uploads are raw bytes; the fuzzer's values go as they are (what is not a picture must be a 4xx)."""
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()
