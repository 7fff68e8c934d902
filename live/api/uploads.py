"""Uploads: a picture's raw bytes in (a room's cover), its public URL out; and serving it back."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from live.api.errors import error_response
from live.api.routing import Api, Ctx, read_limited
from live.api.schemas import ImageOut
from live.container import Services
from live.uploads import IMAGES_PATH, KINDS, UPLOADERS, upload_image

api = Api()
TAGS = ["uploads"]
_NAME = re.compile(r"^[0-9a-f]{40}\.(png|jpg|webp)$")


@api.op(
    "POST",
    IMAGES_PATH,
    summary="Upload a picture (PNG, JPEG or WebP, judged by its bytes): streamers, shop operators, staff",
    tags=TAGS,
    response=ImageOut,
    status=201,
)
async def upload(ctx: Ctx) -> ImageOut:
    ctx.user.require(*UPLOADERS)  # before reading what may be megabytes
    limit = ctx.services.settings.upload_max_bytes
    data = await read_limited(ctx.request, limit, f"a picture may have at most {limit} bytes")
    image = await upload_image(ctx.services.images, ctx.user, data)
    return ImageOut.model_validate(image)


async def serve_image(request: Request) -> Response:
    services: Services = request.app.state.services
    name = request.path_params["name"]
    path = services.images.directory / name
    if not _NAME.match(name) or not path.is_file():
        return error_response(404, "not_found", "no such picture", {"path": request.url.path})
    return FileResponse(
        path,
        media_type=KINDS[name.rsplit(".", 1)[1]],
        headers={  # a name is its content's hash: it never changes
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


routes = [Route(IMAGES_PATH + "/{name}", serve_image, methods=["GET", "HEAD"])]


def document(openapi: dict[str, Any]) -> None:
    """The upload's raw body and the served pictures (bytes, so not declared through ``Api``)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    upload_op = openapi["paths"][IMAGES_PATH]["post"]
    upload_op["requestBody"] = {"required": True, "content": {t: binary for t in sorted(KINDS.values())}}
    upload_op["description"] = (
        "The body is the picture itself (`UPLOAD_MAX_BYTES` at most, 413 beyond); its type is read from "
        "its first bytes, whatever `Content-Type` says (422 for anything but PNG, JPEG or WebP). The "
        "answer's `url` serves it."
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    openapi["paths"][IMAGES_PATH + "/{name}"] = {
        "get": {
            "operationId": "uploaded_image",
            "summary": "An uploaded picture (its name never changes what it serves)",
            "tags": TAGS,
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "the picture", "content": {t: binary for t in sorted(KINDS.values())}},
                "404": {"description": "no such picture", "content": error},
            },
        }
    }
