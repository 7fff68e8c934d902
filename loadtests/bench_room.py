"""Room channel benchmark: one room, N viewers over two server processes on Redis + PostgreSQL.

Starts two `yellowcart serve` processes (PostgreSQL from DATABASE_URL's server, Redis from REDIS_URL),
seeds the demo, puts the room live, then for each audience size: connects N viewers split over both
processes from worker processes, sends danmaku at --chat-rate messages/s from many users and flips a
listing every second through the HTTP API, and checks that every viewer received every state event and
the p99 of state-event delivery latency (receive time minus the frame's server send timestamp).

    .venv/bin/python -m loadtests.bench_room --viewers 2000,4000,6000 --with-reference 1000,2000,3000

Only loopback addresses are used. Every run is bounded by --seconds per step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from loadtests import wsclient

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Result:
    connected: int
    complete: int  # viewers that received every state event
    latencies_ms: list[float]
    frames: int
    errors: int


async def _viewer(url: str, delay: float, stop: Any, out: dict[str, Any]) -> None:
    await asyncio.sleep(delay)  # connections arrive spread out, not all in one instant
    seqs: set[int] = set()
    lat: list[float] = []

    def on_text(payload: bytes) -> None:
        out["frames"] += 1
        out["messages"] += payload.count(b'"user_id":') + payload.count(b'"kind":')  # danmaku + state
        if b'"state":[]' in payload:
            return  # chat/counts only: no state event to time, nothing to parse
        now = time.time() * 1000
        msg = json.loads(payload)
        if msg.get("t") == "batch" and msg["state"]:
            lat.append(now - msg["ts"])
            seqs.update(e["seq"] for e in msg["state"])

    try:
        reader = await wsclient.connect(url, on_text)
        out["connected"] += 1
        # the stop time is a value shared with the driver process: there is no event to await
        while time.time() < stop.value and not reader.closed.done():  # noqa: ASYNC110
            await asyncio.sleep(0.25)
        if reader.transport is not None:
            reader.transport.close()
    except Exception:
        out["errors"] += 1
    out["seqs"].append(sorted(seqs))
    out["lat"].extend(lat)


def _worker(urls: list[str], stop: Any, queue: Any) -> None:
    out: dict[str, Any] = {"connected": 0, "frames": 0, "messages": 0, "errors": 0, "seqs": [], "lat": []}

    async def main() -> None:
        await asyncio.gather(*(_viewer(u, i * 0.002, stop, out) for i, u in enumerate(urls)))

    asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = usage.ru_utime + usage.ru_stime
    queue.put(out)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (from /proc; 0 where unreadable)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def _token(user: str, roles: list[str]) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode(
        {
            "sub": user,
            "roles": roles,
            "name": user,
            "iss": "yellowcart",
            "aud": "yellowcart",
            "iat": now,
            "exp": now + 3600,
        },
        SECRET,
        algorithm="HS256",
    )


async def _drive(
    http: list[str], ws: list[str], room: int, listing: int, seconds: float, chat_rate: int, start_at: float
) -> list[int]:
    """Flip a listing every second and send danmaku; returns the sequence numbers of the flips."""
    await asyncio.sleep(max(0, start_at - time.time()))
    streamer = {"Authorization": f"Bearer {_token('demo-streamer', ['streamer'])}"}
    flips: list[int] = []
    chatters = []
    users = max(chat_rate, 1) * 2  # each user stays under its 1/s rate limit
    for i in range(users):
        c = await websockets.connect(
            f"{ws[i % len(ws)]}/ws/rooms/{room}?token={_token(f'chat-{i}', ['viewer'])}",
            ping_interval=None,
            max_size=2**22,
            open_timeout=60,  # the servers may still be taking the viewers' connections
        )
        chatters.append(c)

    async def drain(c: Any) -> None:
        try:
            async for _ in c:
                pass
        except Exception:
            return

    drains = [asyncio.create_task(drain(c)) for c in chatters]
    async with httpx.AsyncClient(timeout=10) as h:
        cart = (await h.get(f"{http[0]}/rooms/{room}/cart")).json()
        status = next(x["status"] for x in cart["listings"] if x["id"] == listing)
        t0 = time.time()
        n = 0
        while time.time() - t0 < seconds:
            tick = time.time()
            status = "on_sale" if status == "off" else "off"
            r = await h.post(
                f"{http[n % len(http)]}/rooms/{room}/listings/{listing}/status",
                headers=streamer,
                json={"status": status},
            )
            flips.append(n)
            n += 1
            for j in range(chat_rate):
                c = chatters[(n * chat_rate + j) % len(chatters)]
                await c.send(json.dumps({"t": "chat", "text": f"bench {n}-{j}"}))
                await asyncio.sleep(1 / chat_rate / 2)
            r.raise_for_status()
            await asyncio.sleep(max(0, 1 - (time.time() - tick)))
    for c in chatters:
        await c.close()
    for d in drains:
        d.cancel()
    return flips


def slow_client_actions(http: list[str]) -> dict[str, float]:
    """Sum the servers' slow-viewer policy counters (chat dropped, coalesced, closed)."""
    totals: dict[str, float] = {}
    for url in http:
        for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
            if line.startswith("yellowcart_ws_slow_client_actions_total{"):
                action = line.split('action="', 1)[1].split('"', 1)[0]
                totals[action] = totals.get(action, 0) + float(line.rsplit(" ", 1)[1])
    return totals


async def _drive_reference(ws: list[str], seconds: float, chat_rate: int, start_at: float) -> list[int]:
    """The same load on the bare reference: danmaku from viewers, a state event every second via Redis."""
    from redis.asyncio import Redis

    from loadtests.bare_reference import CHANNEL

    await asyncio.sleep(max(0, start_at - time.time()))
    redis = Redis.from_url(os.environ["REDIS_URL"])
    chatters = [await websockets.connect(ws[i % len(ws)], ping_interval=None) for i in range(4)]
    flips: list[int] = []
    t0 = time.time()
    n = 0
    while time.time() - t0 < seconds:
        tick = time.time()
        n += 1
        body = {
            "t": "batch",
            "ts": int(time.time() * 1000),
            "seq": n,
            "state": [{"seq": n, "kind": "listing.status", "listing_id": 1}],
            "chat": [],
        }
        await redis.publish(CHANNEL, json.dumps(body))
        flips.append(n)
        for j in range(chat_rate):
            msg = {
                "t": "batch",
                "ts": int(time.time() * 1000),
                "state": [],
                "chat": [{"user_id": f"chat-{j}", "text": f"bench {n}-{j}"}],
            }
            await chatters[j % len(chatters)].send(json.dumps(msg))
            await asyncio.sleep(1 / chat_rate / 2)
        await asyncio.sleep(max(0, 1 - (time.time() - tick)))
    for c in chatters:
        await c.close()
    await redis.aclose()
    return flips


def run_step(
    http: list[str],
    ws: list[str],
    room: int,
    listing: int,
    viewers: int,
    seconds: float,
    chat_rate: int,
    workers: int,
    server_pids: list[int] = [],  # noqa: B006 - read only
) -> dict[str, Any]:
    cpu_before = _cpu_seconds(server_pids)
    connect_budget = 10 + viewers / 300
    start_at = time.time() + connect_budget
    stop: Any = mp.Value("d", start_at + seconds + 600)  # moved up once the driver is done
    urls = [f"{ws[i % len(ws)]}/ws/rooms/{room}" if room else ws[i % len(ws)] for i in range(viewers)]
    before = slow_client_actions(http) if room else {}
    queue: Any = mp.Queue()
    procs = [mp.Process(target=_worker, args=(urls[i::workers], stop, queue)) for i in range(workers)]
    for p in procs:
        p.start()
    if room == 0:  # the bare reference
        flips = asyncio.run(_drive_reference(ws, seconds, chat_rate, start_at))
    else:
        flips = asyncio.run(_drive(http, ws, room, listing, seconds, chat_rate, start_at))
    stop.value = time.time() + 3  # time for the last events to arrive
    outs = [queue.get(timeout=seconds + connect_budget + 120) for _ in procs]
    server_cpu = _cpu_seconds(server_pids) - cpu_before  # the whole step: joins, snapshots and the show
    for p in procs:
        p.join(timeout=30)
    lat = sorted(x for o in outs for x in o["lat"])
    all_seqs = [set(s) for o in outs for s in o["seqs"]]
    union = set().union(*all_seqs) if all_seqs else set()
    # every flip is one state event; the snapshot's seq is below them all
    expected = set(sorted(union)[-len(flips) :]) if union else set()
    complete = sum(1 for s in all_seqs if expected <= s)
    missing = [sorted(expected - s) for s in all_seqs if not expected <= s]
    first_missing = sorted({m[0] for m in missing})[:5]
    last_missing = sorted({m[-1] for m in missing})[-5:]
    p99 = lat[int(len(lat) * 0.99) - 1] if lat else float("nan")
    return {
        "viewers": viewers,
        "connected": sum(o["connected"] for o in outs),
        "complete": complete,
        "state_events": len(flips),
        "frames": sum(o["frames"] for o in outs),
        "messages": (messages := sum(o["messages"] for o in outs)),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_us_per_message": round(server_cpu * 1e6 / messages, 2) if messages else None,
        "client_cpu_s": round(sum(o["cpu_s"] for o in outs), 2),
        "errors": sum(o["errors"] for o in outs),
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p99_ms": round(p99, 1),
        "incomplete_detail": {
            "expected": [min(expected, default=0), max(expected, default=0)],
            "first_missing": first_missing,
            "last_missing": last_missing,
            "empty": sum(1 for s in all_seqs if not s),
        },
        "slow_client_actions": {k: v - before.get(k, 0) for k, v in slow_client_actions(http).items()}
        if room
        else {},
        "ok": complete == viewers and len(union) >= len(flips) and p99 <= 250,
    }


def spawn_servers(
    embedded: bool = False,
) -> tuple[list[str], list[str], int, int, list[subprocess.Popen[bytes]]]:
    """Two processes on PostgreSQL + Redis, or (``embedded``) one process on SQLite and the memory broker."""
    env = {
        **os.environ,
        "JWT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "REDIS_PREFIX": f"bench{os.getpid()}",
        "WS_QUEUE_FRAMES": "256",
    }
    if embedded:
        env["DATABASE_URL"] = f"sqlite:////tmp/yc-bench-{os.getpid()}.db"
        env.pop("REDIS_URL", None)
    elif not env.get("DATABASE_URL", "").startswith("postgres") or not env.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    cli = [sys.executable, "-m", "live.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = json.loads(
        subprocess.run([*cli, "seed-demo", "--json"], env=env, check=True, capture_output=True).stdout
    )
    procs, http, ws = [], [], []
    for _ in range(1 if embedded else 2):
        port = free_port()
        procs.append(subprocess.Popen([*cli, "serve", "--port", str(port)], env=env))
        http.append(f"http://127.0.0.1:{port}")
        ws.append(f"ws://127.0.0.1:{port}")
    for url in http:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    room = int(demo["room_id"])
    headers = {"Authorization": f"Bearer {_token('demo-streamer', ['streamer'])}"}
    with httpx.Client() as h:
        h.post(f"{http[0]}/rooms/{room}/start", headers=headers)
        listing = int(h.get(f"{http[0]}/rooms/{room}/cart").json()["listings"][0]["id"])
        h.post(
            f"{http[0]}/rooms/{room}/listings/{listing}/status", headers=headers, json={"status": "on_sale"}
        )
    return http, ws, room, listing, procs


def spawn_reference() -> tuple[list[str], list[subprocess.Popen[bytes]]]:
    procs, ws = [], []
    for _ in range(2):
        port = free_port()
        procs.append(
            subprocess.Popen([sys.executable, "-m", "loadtests.bare_reference", "--port", str(port)])
        )
        ws.append(f"ws://127.0.0.1:{port}/")
    time.sleep(2)
    return ws, procs


def search(kind: str, steps: list[int], seconds: float, chat_rate: int, workers: int) -> int:
    """Try each audience size in order until one fails; returns the largest that passed (0 if none)."""
    if kind == "bare reference":
        http: list[str] = []
        ws, procs = spawn_reference()
        room, listing = 0, 0
    else:
        http, ws, room, listing, procs = spawn_servers(embedded=kind == "yellowcart embedded")
    best = 0
    try:
        for n in steps:
            pids = [p.pid for p in procs]
            result = run_step(http, ws, room, listing, n, seconds, chat_rate, workers, pids)
            result["server"] = kind
            print(json.dumps(result), flush=True)
            if not result["ok"]:
                break
            best = n
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", default="500,1000,2000", help="audience sizes to try, in order")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--chat-rate", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2, help="load client processes")
    ap.add_argument(
        "--reference", action="store_true", help="measure only the bare websockets + Redis reference"
    )
    ap.add_argument("--embedded", action="store_true", help="one process on the embedded defaults (SQLite)")
    ap.add_argument(
        "--with-reference",
        metavar="VIEWERS",
        help="then measure the bare reference in the same run over these sizes, and compare",
    )
    args = ap.parse_args()
    steps = [int(x) for x in args.viewers.split(",")]
    kind = "bare reference" if args.reference else "yellowcart embedded" if args.embedded else "yellowcart"
    best = search(kind, steps, args.seconds, args.chat_rate, args.workers)
    if args.with_reference:
        ref_steps = [int(x) for x in args.with_reference.split(",")]
        ref = search("bare reference", ref_steps, args.seconds, args.chat_rate, args.workers)
        summary = {
            "summary": True,
            kind: best,
            "bare reference": ref,
            "ratio": round(best / ref, 2) if ref else None,
            "twice_the_reference": ref > 0 and best >= 2 * ref,
        }
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
