"""Benchmark 1, fan-in: P pollers against 1 worker and against 4 workers sharing Redis.

Each cell starts cold (fresh `greenroom run`, empty cache, simulator counters at zero), runs P
pollers for --seconds, then reads /_sim/stats: upstream stack queries a minute (the backend
pages through `searchStacks`; 50 stacks are one page) and token exchanges (`apiKeyUser`).
Goal: about 60 / cacheTtlSeconds queries a minute whatever P and the workers; 1 exchange.

Targets: `fragment` (the overview's live region, signed in, with If-None-Match like the host's
poller) and `api` (GET /api/spacelift/stacks with a static token). The 1-worker deployment uses
the embedded default (memory cache); the 4-worker one shares Redis.

    .venv/bin/python bench/fan_in.py [--seconds 60] [--pollers 1 10 100] [--workers 1 4]
        [--targets fragment api] [--repeat 3] [--interval 1] [--cache-ttl 5]

Bounded: cells x repeat x (seconds + a few s of start-up); the defaults measure for 36 minutes.
Everything listens on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import API_TOKEN, Cluster, deploy_config, sign_in
from load import machine, median, percentile, poll, scratch, table

TARGETS = {"fragment": "/spacelift/fragments/overview", "api": "/api/spacelift/stacks"}


def cell(cluster: Cluster, sim, store, config, workers: int, target: str, pollers: int,
         args: argparse.Namespace) -> dict:  # fmt: skip
    overlay = [f"spacelift:\n  cacheTtlSeconds: {args.cache_ttl:g}\n"
               f"  pollIntervalSeconds: {max(1, round(args.interval))}\n"]  # fmt: skip
    if workers == 1:
        overlay.append("backend:\n  cache:\n    store: memory\n")
    extra = cluster.write_config("".join(overlay), f"overlay-{workers}.yaml")
    redis.Redis.from_url(store.url).flushdb()
    portal = cluster.portal([config, extra], cluster.env(sim, store.url), workers=workers)
    try:
        if target == "fragment":
            viewer = sign_in(portal.url)

            def make_session(_i: int) -> requests.Session:
                s = requests.Session()
                s.cookies.update(viewer.cookies)
                return s

            headers = {"X-Greenroom-Fragment": "1", "Accept": "text/html"}
        else:

            def make_session(_i: int) -> requests.Session:
                return requests.Session()

            headers = {"Authorization": f"Bearer {API_TOKEN}"}
        sim.reset_stats()
        result = poll(pollers, args.seconds, args.interval, make_session,
                      lambda _i: portal.url + TARGETS[target], headers,
                      conditional=target == "fragment")  # fmt: skip
        stats = sim.stats()
    finally:
        portal.stop()
    queries = int(stats["operations"].get("searchStacks", 0))
    return {
        "queries_per_min": queries * 60 / result.seconds,
        "queries": queries,
        "exchanges": int(stats["tokens_issued"]),
        "requests": result.requests,
        "rps": result.rate,
        "p50": percentile(result.latencies_ms, 50),
        "p99": percentile(result.latencies_ms, 99),
        "ok": result.statuses.get(200, 0),
        "not_modified": result.statuses.get(304, 0),
        "other": sum(n for s, n in result.statuses.items() if s not in (200, 304)) + result.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pollers", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--cache-ttl", type=float, default=5.0, help="spacelift.cacheTtlSeconds")
    parser.add_argument("--stacks", type=int, default=50)
    args = parser.parse_args()
    print(f"# fan-in: {machine()}")
    print(f"cacheTtlSeconds {args.cache_ttl:g} (goal {60 / args.cache_ttl:.1f} queries/min), "
          f"poll every {args.interval:g} s, {args.seconds:g} s a cell, {args.repeat} run(s)\n")  # fmt: skip
    runs: dict[tuple, list[dict]] = {}
    with Cluster(scratch("fan-in")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=args.stacks)
        config = cluster.write_config(deploy_config())
        for run in range(args.repeat):
            for workers in args.workers:
                for target in args.targets:
                    for pollers in args.pollers:
                        out = cell(cluster, sim, store, config, workers, target, pollers, args)
                        runs.setdefault((target, workers, pollers), []).append(out)
                        print(f"run {run + 1}: {target} workers={workers} P={pollers}: "
                              f"{out['queries']} queries ({out['queries_per_min']:.1f}/min), "
                              f"{out['exchanges']} exchange(s), {out['requests']} requests "
                              f"({out['rps']:.1f}/s), p50 {out['p50']:.1f} ms, "
                              f"p99 {out['p99']:.1f} ms, 200/304/other "
                              f"{out['ok']}/{out['not_modified']}/{out['other']}", flush=True)  # fmt: skip
    rows = []
    for (target, workers, pollers), outs in runs.items():
        rows.append([
            target, f"{workers} ({'memory' if workers == 1 else 'Redis'})", pollers,
            median([o["queries_per_min"] for o in outs]),
            "/".join(str(o["exchanges"]) for o in outs),
            median([o["rps"] for o in outs]), median([o["p50"] for o in outs]),
            median([o["p99"] for o in outs]),
            "/".join(str(o["not_modified"]) for o in outs) if target == "fragment" else "-",
            sum(o["other"] for o in outs),
        ])  # fmt: skip
    print(f"\nMedians of {args.repeat} run(s) (per-run values joined by /):\n")
    print(table(["target", "workers (cache)", "P", "stack queries/min", "token exchanges",
                 "req/s", "p50 ms", "p99 ms", "304s", "errors"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
