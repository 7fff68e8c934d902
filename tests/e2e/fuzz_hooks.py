"""schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/sdp")
def _sdp(ctx: Any, value: Any) -> bytes:
    """WHIP/WHEP offers are SDP text; the fuzzer's strings go as they are (a bad offer must be a 4xx)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()
