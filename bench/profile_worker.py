"""Profile one gunicorn worker with py-spy while wrk loads one URL; print where the time goes.

For the benchmarks that miss a goal (docs/benchmarks.md): it starts Redis, a simulator with
--stacks stacks and `greenroom run --workers 1` (cacheTtlSeconds 3600: answers come from the
cache), warms the URL, then runs wrk against it for --seconds while `py-spy record` samples the
worker. Prints the share of samples in which each function is on the stack (inclusive), for
the functions that matter, and keeps the raw profile (collapsed stacks, for flame graphs).

    .venv/bin/pip install py-spy        # a profiling tool, not a dependency of Greenroom
    .venv/bin/python bench/profile_worker.py --url /api/spacelift/stacks [--stacks 50]
        [--seconds 10] [--connections 4] [--out profile.txt] [--top 40]

`--url /healthz` profiles the bare stack; a URL under /spacelift/ is requested signed in.
Bounded by --seconds plus start-up. Loopback only.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import API_TOKEN, BIN, Cluster, deploy_config, sign_in
from load import machine, scratch, wrk

# Inclusive shares are printed for frames whose file matches one of these, plus the top ones.
_PREFIXES = re.compile(r" \((?:/work/main/)?(?:\.venv/lib/python3\.\d+/site-packages/|/[^ ]*/lib/python3\.\d+/|/[^ ]*/site-packages/)?")


_OUTER = re.compile(r"^<module> |\((click/|gunicorn/app/|gunicorn/arbiter)|\(host/cli\.py\)|"
                    r"Worker\.init_process|SyncWorker\.(run|run_for_one|accept) ")


def summarize(raw: Path, top: int) -> list[tuple[float, str]]:
    """(share %, function) for the `top` functions most often on the stack."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        seen = set()
        for frame in stack.split(";"):
            name = re.sub(r":\d+\)$", ")", _PREFIXES.sub(" (", frame))
            if name not in seen:
                seen.add(name)
                inclusive[name] += n
    # The frames around every request (the command line, gunicorn's master and worker loop)
    # say nothing: keep the ones from the request down.
    return [(100 * n / total, name) for name, n in inclusive.most_common()
            if not _OUTER.search(name)][:top]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="/api/spacelift/stacks")
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples a second")
    parser.add_argument("--out", default="profile.txt", help="raw py-spy output (collapsed)")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    print(f"# profile of {args.url} ({args.stacks} stacks): {machine()}\n")
    with Cluster(scratch("profile")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=args.stacks, timeout=300)
        config = cluster.write_config(deploy_config())
        extra = cluster.write_config("spacelift:\n  cacheTtlSeconds: 3600\n", "cached.yaml")
        redis.Redis.from_url(store.url).flushdb()
        portal = cluster.portal([config, extra], cluster.env(sim, store.url), workers=1)
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        requests.get(portal.url + "/api/spacelift/stacks", headers=headers, timeout=300).raise_for_status()
        if args.url.startswith("/spacelift/"):
            viewer = sign_in(portal.url)
            headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in viewer.cookies)}
        elif not args.url.startswith("/api/"):
            headers = {}
        requests.get(portal.url + args.url, headers=headers, timeout=60).raise_for_status()
        worker = portal.worker_pids()[0]
        out = Path(args.out).resolve()
        recorder = subprocess.Popen(
            [spy, "record", "--pid", str(worker), "--duration", str(int(args.seconds) + 1),
             "--rate", str(args.rate), "--format", "raw", "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(0.5)
            load = wrk(portal.url + args.url, args.seconds, args.connections, headers=headers)
        finally:
            recorder.wait(timeout=args.seconds + 60)
    print(f"wrk -c{args.connections} -d{args.seconds:g}s under py-spy: {load['rps']:.0f} req/s, "
          f"p50 {load['p50']:.1f} ms (slower than unprofiled)\n")  # fmt: skip
    print(f"Share of samples with the function on the stack (inclusive), raw profile in {out}:\n")
    for share, name in summarize(out, args.top):
        print(f"{share:5.1f}%  {name}")


if __name__ == "__main__":
    main()
