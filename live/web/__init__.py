"""The web client: the pages the server serves itself (landing, viewer room, studio, consoles, API docs).

No server-side rendering: each page is one small HTML shell that loads its ES module from ``static/``;
the modules talk to the JSON API and the room channel like any other client. Third-party front-end
packages are committed under ``static/vendor/`` (pinned by ``package-lock.json``, copied by
``scripts/vendor-web.sh``). Static files are gzip-compressed and revalidated by ETag, so a page is
always current after a deploy. Page paths never collide with the API's.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
STATIC_MOUNT = "/static"

# the module specifiers pages import by name; resolved by the browser through an import map
IMPORT_MAP = {
    "preact": "/static/vendor/preact/preact.mjs",
    "preact/hooks": "/static/vendor/preact/hooks.mjs",
    "htm": "/static/vendor/htm/htm.mjs",
}


# modules every page imports: fetched at once rather than one import level after another
PRELOADED = (
    *IMPORT_MAP.values(),
    "/static/lib/api.js",
    "/static/lib/i18n.js",
    "/static/lib/i18n/zh-CN.js",
    "/static/lib/i18n/en.js",
    "/static/lib/ui.js",
)


@dataclass(frozen=True)
class Page:
    path: str
    module: str  # under static/pages/
    title: str
    styles: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()  # classic scripts loaded before the module (e.g. a chart library)


PAGES = (
    Page("/", "landing.js", "Yellowcart"),
    Page("/sign-in", "signin.js", "Sign in · Yellowcart"),
    Page("/live/{room_id}", "room.js", "Live · Yellowcart"),  # loads hls.js only for an HLS room
    Page("/studio", "studio.js", "Studio · Yellowcart"),
    Page(
        "/shop",
        "shop.js",
        "Shop console · Yellowcart",
        styles=("/static/vendor/uplot/uPlot.min.css",),
        scripts=("/static/vendor/uplot/uPlot.iife.min.js",),
    ),
    Page("/staff", "staff.js", "Staff console · Yellowcart"),
    Page("/orders", "orders.js", "My orders · Yellowcart"),
    Page(
        "/docs",
        "docs.js",
        "API · Yellowcart",
        styles=("/static/vendor/swagger-ui-dist/swagger-ui.css",),
        scripts=("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js",),
    ),
)


def _import_map() -> str:
    return f'<script type="importmap">{json.dumps({"imports": IMPORT_MAP})}</script>'


# Scripts only from this server (and the one inline import map, by its hash); pictures, video and
# connections may come from elsewhere (covers, CDN playback, WHEP/HLS origins); never framed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'sha256-{}'".format(
            base64.b64encode(
                hashlib.sha256(
                    _import_map().removeprefix('<script type="importmap">').removesuffix("</script>").encode()
                ).digest()
            ).decode()
        ),
        "style-src 'self' 'unsafe-inline'",
        "img-src * data: blob:",
        "media-src * blob:",
        "connect-src *",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)


def _shell(page: Page) -> str:
    styles = "".join(f'<link rel="stylesheet" href="{html.escape(s)}">' for s in page.styles)
    scripts = "".join(f'<script src="{html.escape(s)}"></script>' for s in page.scripts)
    preload = "".join(f'<link rel="modulepreload" href="{m}">' for m in PRELOADED)
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">'
        f"<title>{html.escape(page.title)}</title>"
        '<link rel="icon" href="/static/img/icon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="/static/css/app.css">{styles}'
        f"{_import_map()}"
        f"{scripts}"
        f'<link rel="modulepreload" href="/static/pages/{page.module}">'
        f"{preload}"
        "</head><body>"
        '<div id="app"><noscript>Yellowcart needs JavaScript. 本页需要启用 JavaScript。</noscript></div>'
        f'<script type="module" src="/static/pages/{page.module}"></script>'
        "</body></html>\n"
    )


class _Static(StaticFiles):
    """Static files revalidated on every use (ETag → 304), so a deploy is never half-seen."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def _page_endpoint(page: Page) -> object:
    body = _shell(page)

    async def endpoint(request: Request) -> Response:
        return HTMLResponse(
            body,
            headers={
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            },
        )

    endpoint.__name__ = f"page_{page.module.removesuffix('.js')}"
    return endpoint


class _GzipStatic:
    def __init__(self) -> None:
        self._app = GZipMiddleware(_Static(directory=STATIC_DIR), minimum_size=512)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = [
        Route(p.path, _page_endpoint(p), methods=["GET", "HEAD"])  # type: ignore[arg-type]
        for p in PAGES
    ]
    found.append(Mount(STATIC_MOUNT, app=_GzipStatic(), name="static"))
    return found
