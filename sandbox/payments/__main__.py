"""Run the sandbox payment provider as its own HTTP service: ``python -m sandbox.payments --port 8700``
(then point ``PAYMENT_SANDBOX_URL`` at it)."""

from __future__ import annotations

import argparse
import asyncio

from sandbox.payments.app import create_app
from sandbox.payments.bank import SandboxBank


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(
        prog="python -m sandbox.payments",
        description="Run the sandbox payment provider as its own HTTP service.",
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8700)
    ap.add_argument("--merchant", default="sandbox-merchant")
    ap.add_argument("--api-key", default="sandbox-api-key")
    ap.add_argument("--notify-secret", default="sandbox-notify-secret")
    args = ap.parse_args()
    bank = SandboxBank(
        merchant=args.merchant,
        api_key=args.api_key,
        notify_secret=args.notify_secret,
        public_url=f"http://{args.host}:{args.port}",
    )
    app = create_app(bank)

    async def serve() -> None:
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_config=None))
        notifier = asyncio.create_task(bank.run_notifier())
        try:
            await server.serve()
        finally:
            notifier.cancel()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
