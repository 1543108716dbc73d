"""Benchmark 5, cold start: 50 concurrent first requests across 4 workers sharing Redis.

Each run starts a fresh `greenroom run --workers 4` with an empty Redis, zeroes the simulator's
counters, releases 50 GET /api/spacelift/stacks (static token) at once, and reads /_sim/stats:
token exchanges (`apiKeyUser`) and upstream stack queries (`searchStacks`). Runs with an
instant simulator and with one that answers in --latency-ms (every worker then waits behind the
first exchange). Goal: 1 token exchange.

    .venv/bin/python bench/cold_start.py [--requests 50] [--workers 4] [--repeat 3]
        [--latency-ms 0 300]

Bounded: repeat x latencies x (start-up ~3 s + the burst). Loopback only.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import API_TOKEN, Cluster, deploy_config
from load import machine, median, percentile, scratch, table

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def burst(url: str, count: int) -> tuple[list[int], list[float]]:
    gate = threading.Barrier(count)

    def one(_i: int) -> tuple[int, float]:
        gate.wait(timeout=30)
        t0 = time.perf_counter()
        answer = requests.get(url, headers=AUTH, timeout=120)
        return answer.status_code, (time.perf_counter() - t0) * 1000

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    return [s for s, _ in results], [t for _, t in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 300])
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--store", choices=["redis", "memory"], default="redis",
                        help="backend.cache.store (memory: each worker has its own cache)")
    args = parser.parse_args()
    print(f"# cold start: {machine()}")
    print(f"{args.requests} concurrent first requests, greenroom run --workers {args.workers}, "
          f"backend.cache.store {args.store}, {args.repeat} run(s) per upstream latency\n")  # fmt: skip
    rows = []
    summary: dict[int, list[dict]] = {}
    with Cluster(scratch("cold-start")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=args.stacks)
        config = [cluster.write_config(deploy_config())]
        if args.store == "memory":
            config.append(cluster.write_config("backend:\n  cache:\n    store: memory\n", "memory.yaml"))
        for latency in args.latency_ms:
            for n in range(args.repeat):
                redis.Redis.from_url(store.url).flushdb()
                portal = cluster.portal(config, cluster.env(sim, store.url), workers=args.workers)
                try:
                    if latency:
                        sim.fault("slow", latency_ms=latency)
                    sim.reset_stats()
                    statuses, times = burst(portal.url + "/api/spacelift/stacks", args.requests)
                    stats = sim.stats()
                finally:
                    sim.fault("none")
                    portal.stop()
                out = {
                    "exchanges": int(stats["tokens_issued"]),
                    "queries": int(stats["operations"].get("searchStacks", 0)),
                    "ok": statuses.count(200),
                    "p50": percentile(times, 50),
                    "max": max(times),
                }
                summary.setdefault(latency, []).append(out)
                rows.append([latency, n + 1, out["exchanges"], out["queries"],
                             f"{out['ok']}/{args.requests}", out["p50"], out["max"]])  # fmt: skip
    print(table(["upstream latency ms", "run", "token exchanges", "stack queries", "200s",
                 "p50 ms", "slowest ms"], rows))  # fmt: skip
    print("\nMedians:\n")
    print(table(["upstream latency ms", "token exchanges", "stack queries", "p50 ms", "slowest ms"],
                [[lat, median([o["exchanges"] for o in outs]), median([o["queries"] for o in outs]),
                  median([o["p50"] for o in outs]), median([o["max"] for o in outs])]
                 for lat, outs in summary.items()]))  # fmt: skip


if __name__ == "__main__":
    main()
