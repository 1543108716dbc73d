"""Benchmark 4, 10,000 stacks: pages and filters served from the cache, and a worker's memory.

One `greenroom run --workers W` (Redis, cacheTtlSeconds 3600 so that every measured request is
served from the cache) over a simulator with --stacks stacks. After one cold fetch (timed: the
backend pages through searchStacks, 50 stacks a page), each URL is requested --requests times,
one at a time, and the time to the last byte is taken on the client (loopback: an upper bound of
the server time). Then the resident memory (VmRSS) of every worker and of the master.
Goal: p50 under 50 ms; a worker's RSS under 200 MB.

    .venv/bin/python bench/big_world.py [--stacks 10000] [--requests 100] [--repeat 3]
        [--workers 2]

Bounded: repeat x (start-up, a cold fetch of ~5 s, 4 x --requests requests); with the defaults
about 4 minutes before commit 37dc2de and 40 s after it. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import API_TOKEN, Cluster, deploy_config, rss_mb, sign_in
from load import machine, median, percentile, scratch, table

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
FILTER = "/api/spacelift/stacks?state=failed&q=prod&sort=-stateSetAt"
URLS = {
    "overview page /spacelift/ (20 rows, signed in)": ("/spacelift/", "user"),
    "overview fragment (20 rows, signed in)": ("/spacelift/fragments/overview", "user"),
    "GET /api/spacelift/stacks (first 20)": ("/api/spacelift/stacks", "token"),
    f"GET {FILTER}": (FILTER, "token"),
}


def one_run(cluster: Cluster, sim, store, config, extra, args) -> dict:
    portal = cluster.portal([config, extra], cluster.env(sim, store.url), workers=args.workers)
    try:
        started = time.monotonic()
        cold = requests.get(portal.url + "/api/spacelift/stacks", headers=AUTH, timeout=300)
        cold.raise_for_status()
        out: dict = {"cold_s": time.monotonic() - started, "total": cold.json()["total"]}
        viewer = sign_in(portal.url)
        token = requests.Session()
        token.headers.update(AUTH)
        for name, (path, who) in URLS.items():
            client = viewer if who == "user" else token
            client.get(portal.url + path, timeout=60).raise_for_status()  # warm this worker path
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                answer = client.get(portal.url + path, timeout=60)
                times.append((time.perf_counter() - t0) * 1000)
                if answer.status_code != 200:
                    raise RuntimeError(f"{path}: {answer.status_code}")
            out[name] = (percentile(times, 50), percentile(times, 99), len(answer.content))
        out["rss"] = [rss_mb(pid) for pid in portal.worker_pids()]
        out["master_rss"] = rss_mb(portal.proc.pid)
        return out
    finally:
        portal.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    print(f"# {args.stacks} stacks: {machine()}")
    print(f"greenroom run --workers {args.workers}; {args.requests} sequential requests a URL; "
          f"{args.repeat} run(s)\n")  # fmt: skip
    runs = []
    with Cluster(scratch("big-world")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=args.stacks, timeout=300)
        config = cluster.write_config(deploy_config())
        extra = cluster.write_config("spacelift:\n  cacheTtlSeconds: 3600\n", "cached.yaml")
        for n in range(args.repeat):
            redis.Redis.from_url(store.url).flushdb()
            sim.reset_stats()
            out = one_run(cluster, sim, store, config, extra, args)
            out["upstream"] = sim.stats()["operations"]
            runs.append(out)
            print(f"run {n + 1}: cold fetch {out['cold_s']:.2f} s ({out['total']} stacks, "
                  f"upstream {out['upstream']}); worker RSS "
                  f"{', '.join(f'{r:.0f}' for r in out['rss'])} MB; master {out['master_rss']:.0f} MB; "
                  + "; ".join(f"{name}: p50 {runs[-1][name][0]:.1f} p99 {runs[-1][name][1]:.1f} ms"
                              for name in URLS), flush=True)  # fmt: skip
    rows = [[name, median([r[name][0] for r in runs]), median([r[name][1] for r in runs]),
             runs[-1][name][2]] for name in URLS]  # fmt: skip
    print(f"\nMedians of {len(runs)} run(s):\n")
    print(table(["request (from cache)", "p50 ms", "p99 ms", "response bytes"], rows))
    print(f"\nlargest worker RSS: {median([max(r['rss']) for r in runs]):.0f} MB (median of the "
          f"runs' largest); master {median([r['master_rss'] for r in runs]):.0f} MB; "
          f"cold fetch of {runs[-1]['total']} stacks {median([r['cold_s'] for r in runs]):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
