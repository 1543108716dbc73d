"""Benchmark 2, throughput from cache: cached GET /api/spacelift/stacks against GET /healthz.

One `greenroom run --workers W` (Redis cache, 50 stacks, a static token, cacheTtlSeconds 3600
so that every measured request is served from the cache), measured with wrk, the two URLs
alternating in the same run (H S, then S H, ...) so that both see the same machine. Reports
req/s, p50 and p99 of each round, then the medians and the ratio of the median req/s.
Goal: stacks / healthz >= 0.6.

    .venv/bin/python bench/throughput.py [--seconds 10] [--rounds 3] [--workers 2]
        [--connections 10]

Bounded: 2 x rounds x seconds plus start-up (about 70 s with the defaults). Loopback only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import API_TOKEN, Cluster, deploy_config, wrk_available
from load import machine, median, scratch, table, wrk

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--stacks", type=int, default=50)
    args = parser.parse_args()
    if not wrk_available():
        sys.exit("wrk is not installed: apt-get install -y wrk")
    print(f"# throughput from cache: {machine()}")
    print(f"greenroom run --workers {args.workers}; wrk -t1 -c{args.connections} "
          f"-d{args.seconds:g}s --latency; {args.rounds} round(s)\n")  # fmt: skip
    with Cluster(scratch("throughput")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=args.stacks)
        config = cluster.write_config(deploy_config())
        extra = cluster.write_config("spacelift:\n  cacheTtlSeconds: 3600\n", "cached.yaml")
        portal = cluster.portal([config, extra], cluster.env(sim, store.url), workers=args.workers)
        stacks_url = portal.url + "/api/spacelift/stacks"
        first = requests.get(stacks_url, headers=AUTH, timeout=30)
        first.raise_for_status()
        print(f"GET /api/spacelift/stacks: {len(first.content)} bytes of JSON, "
              f"{len(first.json()['items'])} of {first.json()['total']} stacks\n")  # fmt: skip
        sim.reset_stats()
        urls = {"healthz": (portal.url + "/healthz", None), "stacks": (stacks_url, AUTH)}
        results: dict[str, list[dict]] = {"healthz": [], "stacks": []}
        rows = []
        for n in range(args.rounds):
            order = ["healthz", "stacks"] if n % 2 == 0 else ["stacks", "healthz"]
            for name in order:
                url, headers = urls[name]
                out = wrk(url, args.seconds, args.connections, headers=headers)
                results[name].append(out)
                rows.append([n + 1, name, out["rps"], out["p50"], out["p99"], out["requests"],
                             out["non2xx"], out["socket_errors"] or "-"])  # fmt: skip
        upstream = sim.stats()
    print(table(["round", "URL", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx",
                 "socket errors"], rows))  # fmt: skip
    med = {k: {m: median([r[m] for r in v]) for m in ("rps", "p50", "p99")} for k, v in results.items()}
    ratios = [s["rps"] / h["rps"] for s, h in zip(results["stacks"], results["healthz"], strict=True)]
    print("\nMedians:\n")
    print(table(["URL", "req/s", "p50 ms", "p99 ms"],
                [[k, v["rps"], v["p50"], v["p99"]] for k, v in med.items()]))  # fmt: skip
    print(f"\nratio stacks/healthz (median req/s): {med['stacks']['rps'] / med['healthz']['rps']:.2f}"
          f"; per round: {', '.join(f'{r:.2f}' for r in ratios)}")  # fmt: skip
    print(f"upstream during the measurement: {upstream['operations']} (0 stack queries expected)")


if __name__ == "__main__":
    main()
