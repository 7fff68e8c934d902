"""The viewer page's own costs, measured in Debian's Chromium (headless, through Playwright's driver).

Starts a server of its own (SQLite in a temporary folder, or PostgreSQL with --database-url), seeds the
demo, puts the demo room live, then opens the viewer page ``/live/{id}`` and measures:

- **weight**: the JavaScript and CSS the first view transfers (the browser's Resource Timing
  ``transferSize``, gzip as served), without the video player library (hls.js, loaded only for HLS);
- **usable**: from navigation start to the moment the cart and the chat are on screen (the page's
  ``room-usable`` performance mark, set when the first snapshot is rendered);
- **danmaku**: while publishers send danmaku at ``--rate`` messages/s for ``--seconds`` s, how busy the
  page's main thread is (Chromium's ``TaskDuration`` over wall time, from the DevTools Performance
  domain), how many long animation frames it had, and how many danmaku reached the page (counted from
  the frames its socket received, independently of the page's code).

    .venv/bin/python -m loadtests.bench_pages --rate 50 --seconds 10

The publishers are one WebSocket per user in this process (chat is limited per user: this server is
started with CHAT_RATE_PER_SECOND and CHAT_BURST raised so that a few users can send 50 messages/s).
Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from loadtests.bench_room import free_port

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PLAYER_LIBRARIES = ("/vendor/hls.js/",)

# counts the danmaku the page's sockets receive, whatever the page does with them
COUNT_DANMAKU = """
(() => {
  window.__ycDanmaku = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        try {
          const f = JSON.parse(ev.data);
          if (f.chat) window.__ycDanmaku += f.chat.length;
        } catch {}
      });
    }
  };
})();
"""


# long animation frames (over 50 ms) while the danmaku fly
WATCH_LONG_FRAMES = """
window.__ycLoaf = 0; window.__ycLoafMs = 0;
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { window.__ycLoaf++; window.__ycLoafMs += e.duration; }
  }).observe({ type: "long-animation-frame" });
} catch (e) {}
"""


def start_server(
    workdir: Path, database_url: str | None
) -> tuple[subprocess.Popen[bytes], str, dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{workdir}/bench.db",
        "JWT_SECRET": SECRET,
        "PUBLIC_URL": base,
        "DEMO_SIGN_IN": "true",
        "CHAT_RATE_PER_SECOND": "100",
        "CHAT_BURST": "100",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    cli = [sys.executable, "-m", "live.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = json.loads(
        subprocess.run([*cli, "seed-demo", "--json"], env=env, check=True, capture_output=True).stdout
    )
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("the server did not start: " + (workdir / "server.log").read_text()[-2000:])
    return proc, base, demo


def make_room_live(base: str, demo: dict[str, Any]) -> int:
    room = int(demo["room_id"])
    auth = {"Authorization": f"Bearer {demo['tokens']['streamer']['token']}"}
    r = httpx.post(f"{base}/rooms/{room}/start", headers=auth)
    if r.status_code not in (200, 409):
        raise SystemExit(f"could not start room {room}: {r.text}")
    return room


async def publish(base: str, room: int, tokens: list[str], rate: float, seconds: float) -> int:
    """Send danmaku at ``rate`` messages/s in all, spread over one socket per token; returns how many."""
    ws_base = base.replace("http", "ws", 1)
    socks = [await websockets.connect(f"{ws_base}/ws/rooms/{room}?token={t}") for t in tokens]
    sent = 0
    try:
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                ws = socks[sent % len(socks)]
                await ws.send(json.dumps({"t": "chat", "text": f"弹幕 {sent} 666"}))
                sent += 1
            await asyncio.sleep(0.005)
    finally:
        for ws in socks:
            await ws.close()
    return sent


def measure(base: str, room: int, tokens: list[str], rate: float, seconds: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"],
        )
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        ctx.add_init_script(COUNT_DANMAKU)
        page = ctx.new_page()
        page.goto(f"{base}/live/{room}")
        page.wait_for_function("performance.getEntriesByName('room-usable').length > 0", timeout=15_000)
        usable_ms = page.evaluate("performance.getEntriesByName('room-usable')[0].startTime")
        page.wait_for_load_state("networkidle")
        resources = page.evaluate(
            "performance.getEntriesByType('resource').map(e => ({name: e.name, size: e.transferSize, "
            "body: e.decodedBodySize, type: e.initiatorType}))"
        )
        code = [
            r
            for r in resources
            if r["name"].split("?")[0].endswith((".js", ".mjs", ".css"))
            and not any(lib in r["name"] for lib in PLAYER_LIBRARIES)
        ]
        weight = sum(int(r["size"]) for r in code)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
        page.evaluate(WATCH_LONG_FRAMES)
        before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        received_before = page.evaluate("window.__ycDanmaku")
        sent: list[int] = []
        publisher = threading.Thread(
            target=lambda: sent.append(asyncio.run(publish(base, room, tokens, rate, seconds)))
        )
        wall = time.monotonic()
        publisher.start()
        publisher.join()
        page.wait_for_timeout(500)  # the last ticks
        wall = time.monotonic() - wall
        after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        received = page.evaluate("window.__ycDanmaku") - received_before
        loaf = page.evaluate("[window.__ycLoaf, window.__ycLoafMs]")
        shown = page.evaluate("document.querySelectorAll('[data-testid=danmaku]').length")
        browser.close()
    busy = (after["TaskDuration"] - before["TaskDuration"]) / wall
    return {
        "weight_bytes": weight,
        "weight_files": sorted(f"{r['name'].split('/static/')[-1]} {r['size']}" for r in code),
        "usable_ms": round(usable_ms, 1),
        "rate": rate,
        "seconds": seconds,
        "danmaku_sent": sent[0] if sent else 0,
        "danmaku_received": received,
        "danmaku_on_screen_at_end": shown,
        "main_thread_busy": round(busy, 3),
        "script_seconds": round(after["ScriptDuration"] - before["ScriptDuration"], 3),
        "layout_seconds": round(after["LayoutDuration"] - before["LayoutDuration"], 3),
        "recalc_style_seconds": round(after["RecalcStyleDuration"] - before["RecalcStyleDuration"], 3),
        "long_animation_frames": loaf[0],
        "long_animation_frame_ms": round(loaf[1], 1),
    }


def viewer_tokens(n: int) -> list[str]:
    from commerce.core.identity import Role
    from live.auth import TokenService
    from live.settings import Settings

    service = TokenService(Settings(jwt_secret=SECRET))
    return [service.issue(f"bench-chatter-{i}", [Role.VIEWER], name=f"chatter {i}") for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="danmaku per second, all publishers together"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--publishers", type=int, default=5, help="users sending the danmaku")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base, demo = start_server(Path(tmp), args.database_url)
        try:
            room = make_room_live(base, demo)
            figures = measure(base, room, viewer_tokens(args.publishers), args.rate, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
