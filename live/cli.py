"""The ``yellowcart`` console script: serve, db, token, seed-demo, media, test-stream."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from commerce.core.identity import Role
from live.settings import Settings

if TYPE_CHECKING:
    from media.nginx_config import NginxLayout


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from live.app import create_app
    from live.observability import configure_logging
    from live.wsserver import WS_PROTOCOL

    configure_logging(settings.log_level, settings.log_json)
    if args.migrate:
        from live.migrate import upgrade

        upgrade(settings.database_url)
    app = create_app(settings)
    # What start-up built lives as long as the process: frozen, later collections skip it. A flash sale
    # allocates fast; with the default thresholds (700, 10, 10) the collector ran so often that it took a
    # fifth of each purchase's CPU (docs/BENCHMARKS.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(settings.gc_gen0_threshold, 50, 50)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        ws=WS_PROTOCOL,
        # per-connection compression would cost one deflate per viewer per frame; room frames are
        # encoded once for everyone, so they go out uncompressed
        ws_per_message_deflate=False,
        ws_max_size=settings.ws_max_message_bytes * 4,
    )
    return 0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    from live import migrate

    if args.db_command == "upgrade":
        migrate.upgrade(settings.database_url, args.revision)
    elif args.db_command == "downgrade":
        migrate.downgrade(settings.database_url, args.revision)
    else:
        migrate.current(settings.database_url)
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from live.auth import TokenService

    roles = [Role(r) for r in args.role] or [Role.VIEWER]
    print(TokenService(settings).issue(args.user, roles, name=args.name or args.user, ttl_seconds=args.ttl))
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from live.demo import print_demo, seed_demo

    demo = asyncio.run(seed_demo(settings))
    print_demo(demo, settings, as_json=args.json)
    return 0


def _layout(settings: Settings, args: argparse.Namespace) -> NginxLayout:
    from media.nginx_config import NginxLayout

    return NginxLayout.under(
        args.prefix,
        args.callback_url or f"{settings.base_url}/media/callbacks/nginx-rtmp",
        rtmp_port=args.rtmp_port,
        http_port=args.http_port,
        host=args.bind,
    )


def _media(settings: Settings, args: argparse.Namespace) -> int:
    from media.nginx_config import NginxProcess, render_config

    layout = _layout(settings, args)
    if args.media_command == "nginx-config":
        text = render_config(layout)
        if args.out == "-":
            print(text)
        else:
            target = Path(args.out) if args.out else layout.conf_path
            for d in layout.dirs():
                d.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            print(f"wrote {target}; run: nginx -p {layout.prefix}/ -c {target.resolve()}")
        print(
            "server settings: MEDIA_PROVIDER=nginx-rtmp "
            f"NGINX_RTMP_URL={layout.rtmp_url} NGINX_HTTP_URL={layout.http_url} "
            f"NGINX_REPLAY_DIR={layout.replay_dir} NGINX_RECORD_DIR={layout.record_dir}",
            file=sys.stderr,
        )
        return 0
    proc = NginxProcess(layout)
    proc.start_sync()
    print(f"nginx-rtmp running (pid {proc.pid}): RTMP {layout.rtmp_url}, HTTP {layout.http_url}", flush=True)
    try:
        return proc.wait_sync()
    except KeyboardInterrupt:
        proc.stop_sync()
        return 0


def _test_stream(settings: Settings, args: argparse.Namespace) -> int:
    from live.streamtest import publish_test_stream

    token = args.token
    if token is None:
        from live.auth import TokenService

        token = TokenService(settings).issue(args.user, [Role.STREAMER], name=args.user)
    server = (args.server or settings.base_url).rstrip("/")
    try:
        return asyncio.run(publish_test_stream(server, args.room, token, seconds=args.seconds))
    except KeyboardInterrupt:
        return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yellowcart", description="Yellowcart live-commerce server")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP/WebSocket server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--migrate", action="store_true", help="apply migrations before starting")
    serve.set_defaults(func=_serve)

    db = sub.add_parser("db", help="database migrations")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="migrate to the newest schema (or --revision)")
    up.add_argument("--revision", default="head")
    down = dbsub.add_parser("downgrade", help="migrate down to --revision")
    down.add_argument("--revision", required=True)
    dbsub.add_parser("current", help="show the applied revision")
    db.set_defaults(func=_db)

    token = sub.add_parser("token", help="issue a development token")
    token.add_argument("user", help="user id (token subject)")
    token.add_argument("--role", action="append", default=[], choices=[r.value for r in Role])
    token.add_argument("--name")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(func=_token)

    seed = sub.add_parser("seed-demo", help="create demo shop, products, users and a scheduled room")
    seed.add_argument("--json", action="store_true", help="print the result as JSON")
    seed.set_defaults(func=_seed)

    media = sub.add_parser("media", help="the self-hosted nginx-rtmp media server")
    msub = media.add_subparsers(dest="media_command", required=True)
    for name, text in (
        ("nginx-config", "write a working nginx config (RTMP, HLS, recording, callbacks to this server)"),
        ("nginx", "write the config and run nginx in the foreground"),
    ):
        m = msub.add_parser(name, help=text)
        m.add_argument("--prefix", default="var/nginx", help="nginx prefix: config, logs, HLS, recordings")
        m.add_argument("--rtmp-port", type=int, default=1935)
        m.add_argument("--http-port", type=int, default=8080)
        m.add_argument("--bind", default="127.0.0.1", help="address nginx listens on")
        m.add_argument("--callback-url", help="default: PUBLIC_URL/media/callbacks/nginx-rtmp")
        if name == "nginx-config":
            m.add_argument("--out", help="file to write ('-': print); default PREFIX/conf/nginx.conf")
    media.set_defaults(func=_media)

    stream = sub.add_parser(
        "test-stream", help="publish a moving test pattern with a clock to a room (no camera needed)"
    )
    stream.add_argument("room", type=int, help="room id")
    who = stream.add_mutually_exclusive_group(required=True)
    who.add_argument("--token", help="the room streamer's bearer token")
    who.add_argument("--user", help="the room's streamer: sign a development token for them here")
    stream.add_argument("--server", help="our server's base URL (default: PUBLIC_URL)")
    stream.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    stream.set_defaults(func=_test_stream)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # settings errors name the variable; show them plainly
        print(f"yellowcart: bad configuration: {exc}", file=sys.stderr)
        return 2
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
