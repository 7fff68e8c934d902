"""Kept files served by signed, expiring link: ``GET /files/{key}?exp=..&uid=..&sig=..``.

The link is the permission (issued by ``FileLinks.issue`` to a user the caller chose), so the route
needs no bearer token and can sit in an ``<img>`` or ``<video>``. A missing, malformed, tampered or
expired signature is a 403 whose JSON body names the problem; a file no longer there, a 404. The
bytes go out with the type their content was judged to be, ``nosniff``, and as an attachment unless
they are an image or a video. Bytes, not JSON, so the route is documented by ``document``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from commerce.core.errors import DomainError
from commerce.files import ACCEPTED, FILES_PATH
from live.api.errors import domain_error_response, error_response
from live.container import Services

TAGS = ["files"]
INLINE = ("image/", "video/")


async def serve_file(request: Request) -> Response:
    services: Services = request.app.state.services
    key: str = request.path_params["key"]
    q = request.query_params
    try:
        services.file_links.verify(key, q.get("uid"), q.get("exp"), q.get("sig"), services.clock())
    except DomainError as exc:
        return domain_error_response(exc)
    stored = await services.files.open(key)
    if stored is None:
        return error_response(404, "not_found", "no such file", {"kind": "file", "id": key})
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",  # the link, not the cache, is the permission
        "Content-Length": str(stored.size),
    }
    if not stored.content_type.startswith(INLINE):
        headers["Content-Disposition"] = f'attachment; filename="{key}"'
    # in chunks: a 100 MiB video is never held in memory whole
    return StreamingResponse(stored.chunks(), media_type=stored.content_type, headers=headers)


routes = [Route(FILES_PATH + "/{key}", serve_file, methods=["GET"])]


def document(openapi: dict[str, Any]) -> None:
    """The file route in the OpenAPI document (bytes of several types, so not declared through ``Api``)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}

    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": True, "description": description, "schema": schema}

    openapi["paths"][FILES_PATH + "/{key}"] = {
        "get": {
            "operationId": "kept_file",
            "summary": "A kept file (after-sales evidence), by the signed, expiring link it was issued with",
            "description": "The link is the permission: no token is needed. Images and videos are served "
            "inline, anything else as an attachment; always with `X-Content-Type-Options: nosniff` and "
            "the type the file's bytes were judged to be when it was kept.",
            "tags": TAGS,
            "parameters": [
                {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                query("exp", "expiry, unix seconds", {"type": "integer", "minimum": 0}),
                query("uid", "the user the link was issued to", {"type": "string"}),
                query("sig", "hex HMAC-SHA256 over key, uid and exp", {"type": "string"}),
            ],
            "responses": {
                "200": {"description": "the file", "content": {t: binary for t in ACCEPTED}},
                "403": {
                    "description": "the link is not signed (link_missing), does not match (link_invalid) "
                    "or has expired (link_expired)",
                    "content": error,
                },
                "404": {"description": "no such file", "content": error},
            },
        }
    }
