"""Flash-sale benchmark through the HTTP API: many buyers at once on a few units.

Starts two `yellowcart serve` processes on PostgreSQL + Redis (or, with --embedded, one on SQLite),
seeds the demo, puts the room live, and runs three scenarios on three listings:
  1. N buyers (default 2,000) at once on 100 units, limit 1 each;
  2. N buyers at once on 1,000 units, limit 1 each;
  3. 500 buyers x 5 attempts each (different Idempotency-Keys) on 1,000 units, limit 1.
Each buyer holds its own keep-alive connection (opened before the start) and fires at the same moment.
Reported: attempts/s, p50/p99 latency, time until sold out, and the checks (orders = units sold, no
oversell, nobody over the limit, every answer a 201 or a 409 naming the reason).

    DATABASE_URL=postgresql://127.0.0.1:5432/yellowcart_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
      .venv/bin/python -m loadtests.bench_orders
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import httpx

from loadtests.bench_room import _token, spawn_servers
from loadtests.httpclient import Connection, build_request

ADDRESS = {
    "name": "Bench Buyer",
    "phone": "+86 139 0000 0000",
    "line1": "1 Road",
    "city": "Shanghai",
    "country": "CN",
}


async def _attempts(
    url: str, jobs: list[tuple[str, bytes]], start_at: float
) -> list[tuple[float, float, int, str]]:
    """Open one connection per buyer, wait for the start, fire; (start, end, status, reason) per attempt."""
    parts = urlsplit(url)
    by_buyer: dict[str, list[bytes]] = {}
    for who, req in jobs:
        by_buyer.setdefault(who, []).append(req)
    conns = {b: await Connection.open(parts.hostname or "127.0.0.1", parts.port or 80) for b in by_buyer}
    out: list[tuple[float, float, int, str]] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))

    async def buyer(b: str) -> None:
        for req in by_buyer[b]:
            t0 = time.time()
            try:
                status, body = await conns[b].send(req)
                reason = "" if status == 201 else json.loads(body)["error"]["code"]
            except Exception as exc:
                status, reason = 0, type(exc).__name__
            out.append((t0, time.time(), status, reason))

    await asyncio.gather(*(buyer(b) for b in by_buyer))
    for c in conns.values():
        c.close()
    return out


def _worker(url: str, jobs: list[tuple[str, bytes]], start_at: float, queue: Any) -> None:
    # the load client spends as little CPU as it can: what it inherited is never collected
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    results = asyncio.run(_attempts(url, jobs, start_at))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((results, usage.ru_utime + usage.ru_stime))


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


def _settle(pids: list[int], *, quiet: float = 0.05, longest: float = 30.0) -> None:
    """Wait until the servers and stores are quiet (under ``quiet`` of a core over half a second), so a
    scenario does not pay for the one before it (its notices, relays, vacuum)."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = _cpu_seconds(pids)
        time.sleep(0.5)
        if _cpu_seconds(pids) - before < quiet * 0.5:
            return


def _store_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-x", "postgres|redis-server"], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def scenario(
    http: list[str],
    room: int,
    listing: int,
    sku: int,
    buyers: int,
    attempts: int,
    units: int,
    workers: int,
    server_pids: list[int],
) -> dict[str, Any]:
    operator = {"Authorization": f"Bearer {_token('demo-operator', ['shop_operator'])}"}
    streamer = {"Authorization": f"Bearer {_token('demo-streamer', ['streamer'])}"}
    with httpx.Client(timeout=30) as h:
        h.put(
            f"{http[0]}/rooms/{room}/listings/{listing}/stock",
            headers=operator,
            json={"stock": units, "limit_per_user": 1},
        ).raise_for_status()
        r = h.post(
            f"{http[0]}/rooms/{room}/listings/{listing}/status", headers=streamer, json={"status": "on_sale"}
        )
        assert r.status_code in (200, 409), r.text
    _settle(server_pids + _store_pids())
    jobs: list[list[tuple[str, bytes]]] = [[] for _ in range(workers * len(http))]
    for i in range(buyers):
        user = f"buyer-{listing}-{i}"
        token = _token(user, ["viewer"])
        slot = i % len(jobs)
        host = urlsplit(http[slot % len(http)]).netloc
        for a in range(attempts):
            req = build_request(
                "POST",
                host,
                f"/rooms/{room}/listings/{listing}/orders",
                {"Authorization": f"Bearer {token}", "Idempotency-Key": f"b{listing}-{i}-{a}"},
                {"sku_id": sku, "quantity": 1, "address": ADDRESS},
            )
            jobs[slot].append((user, req))
    start_at = time.time() + 3 + buyers / 1000
    queue: Any = mp.Queue()
    procs = [
        mp.Process(target=_worker, args=(http[i % len(http)], jobs[i], start_at, queue))
        for i in range(len(jobs))
    ]
    for p in procs:
        p.start()
    stores = _store_pids()
    at_start: dict[str, float] = {}

    def sample() -> None:
        at_start["server"] = _cpu_seconds(server_pids)
        at_start["stores"] = _cpu_seconds(stores)

    timer = threading.Timer(max(0.0, start_at - time.time()), sample)
    timer.start()
    answers = [queue.get(timeout=600) for _ in procs]
    timer.join()
    server_cpu = _cpu_seconds(server_pids) - at_start["server"]
    store_cpu = _cpu_seconds(stores) - at_start["stores"]
    results = [x for got, _cpu in answers for x in got]
    client_cpu = sum(cpu for _got, cpu in answers)
    for p in procs:
        p.join(timeout=30)
    t_first = min(r[0] for r in results)
    t_last = max(r[1] for r in results)
    lat = sorted((r[1] - r[0]) * 1000 for r in results)
    created = [r for r in results if r[2] == 201]
    sold_out_at = max(r[1] for r in created) - t_first if created else None
    with httpx.Client(timeout=30) as h:
        stock = h.get(f"{http[0]}/rooms/{room}/listings/{listing}/stock").json()
        orders: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = h.get(
                f"{http[0]}/shops/1/orders",
                headers=operator,
                params={"room_id": room, "limit": 200, "offset": offset},
            ).json()
            orders += [o for o in page["items"] if o["listing_id"] == listing]
            offset += 200
            if offset >= page["total"]:
                break
    per_buyer = Counter(o["buyer_id"] for o in orders)
    outcomes = Counter(str(r[2]) + (f" {r[3]}" if r[3] else "") for r in results)
    return {
        "buyers": buyers,
        "attempts": len(results),
        "units": units,
        "attempts_per_s": round(len(results) / (t_last - t_first), 1),
        "p50_ms": round(statistics.median(lat), 1),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
        "sold_out_after_s": round(sold_out_at, 3)
        if sold_out_at is not None and len(created) == units
        else None,
        "outcomes": dict(outcomes),
        # the load client's own CPU (connecting, sending, parsing), to show it is not the bottleneck
        "client_cpu_s": round(client_cpu, 2),
        "client_cpu_us_per_attempt": round(client_cpu / len(results) * 1e6),
        # where the machine's two cores went during the burst (until the last answer was read)
        "server_cpu_us_per_attempt": round(server_cpu / len(results) * 1e6),
        "postgres_redis_cpu_us_per_attempt": round(store_cpu / len(results) * 1e6),
        "orders": len(orders),
        "checks": {
            "orders_equal_units_sold": len(orders) == min(units, buyers) == stock["sold"],
            "no_oversell": stock["sold"] <= units,
            "nobody_over_limit": max(per_buyer.values(), default=0) <= 1,
            "only_201_or_409": set(r[2] for r in results) <= {201, 409},
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--buyers", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="load client processes per server")
    ap.add_argument("--embedded", action="store_true", help="one process on the embedded defaults (SQLite)")
    ap.add_argument("--only", type=int, choices=[1, 2, 3], help="run one scenario")
    args = ap.parse_args()
    http, _ws, room, _listing, procs = spawn_servers(embedded=args.embedded)
    try:
        with httpx.Client(timeout=30) as h:
            cart = h.get(f"{http[0]}/rooms/{room}/cart").json()["listings"]
        plans = [(args.buyers, 1, 100), (args.buyers, 1, 1000), (500, 5, 1000)]
        for n, (line, (buyers, attempts, units)) in enumerate(zip(cart, plans, strict=True), 1):
            if args.only and n != args.only:
                continue
            result = scenario(
                http,
                room,
                line["id"],
                line["skus"][0]["id"],
                buyers,
                attempts,
                units,
                args.workers,
                [p.pid for p in procs],
            )
            result["server"] = "yellowcart embedded" if args.embedded else "yellowcart, 2 processes"
            print(json.dumps(result), flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)


if __name__ == "__main__":
    main()
