"""The ``yellowcart`` console script: serve, db upgrade, token, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from commerce.core.identity import Role
from live.settings import Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from live.app import create_app
    from live.observability import configure_logging
    from live.wsserver import WS_PROTOCOL

    configure_logging(settings.log_level, settings.log_json)
    if args.migrate:
        from live.migrate import upgrade

        upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
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
