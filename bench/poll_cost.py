"""Benchmark 3, poll cost: the bytes on the wire of one unchanged poll of the overview fragment.

A signed-in poll with If-None-Match, sent by hand over a raw socket exactly as the host's poller
sends it (headers of live.js: X-Greenroom-Fragment, Accept, If-None-Match, the session cookie),
and the answer read to the end of the connection: every byte counts, status line and headers
included. For scale, the same poll without If-None-Match (a changed fragment) and the JSON API.
Goal: a 304 with an empty body.

    .venv/bin/python bench/poll_cost.py [--repeat 3] [--stacks 50]

Bounded: a few dozen requests. Loopback only.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import API_TOKEN, Cluster, deploy_config, sign_in
from load import machine, scratch, table

FRAGMENT = "/spacelift/fragments/overview"


def raw_get(port: int, path: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    """Send one GET over a new connection; (request bytes, response bytes until close)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return request, b"".join(chunks)


def measure(port: int, path: str, headers: dict[str, str]) -> dict:
    request, response = raw_get(port, path, headers)
    head, _, body = response.partition(b"\r\n\r\n")
    return {
        "status": int(head.split(b" ", 2)[1]),
        "request": len(request),
        "headers": len(head) + 4,
        "body": len(body),
        "total": len(response),
        "head": head.decode("latin-1"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stacks", type=int, default=50)
    args = parser.parse_args()
    print(f"# poll cost: {machine()}\n")
    with Cluster(scratch("poll-cost")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=args.stacks)
        portal = cluster.portal(cluster.write_config(deploy_config()), cluster.env(sim, store.url),
                                workers=2)  # fmt: skip
        viewer = sign_in(portal.url)
        cookie = "; ".join(f"{c.name}={c.value}" for c in viewer.cookies)
        poller = {"X-Greenroom-Fragment": "1", "Accept": "text/html", "Cookie": cookie}
        first = viewer.get(portal.url + FRAGMENT, headers=poller, timeout=30)
        etag = first.headers["ETag"]
        cases = {
            "fragment, unchanged (If-None-Match)": (FRAGMENT, {**poller, "If-None-Match": etag}),
            "fragment, changed (no If-None-Match)": (FRAGMENT, poller),
            "JSON API /api/spacelift/stacks": ("/api/spacelift/stacks",
                                               {"Authorization": f"Bearer {API_TOKEN}"}),
        }  # fmt: skip
        results: dict[str, list[dict]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, (path, headers) in cases.items():
                results[name].append(measure(portal.port, path, headers))
    rows = []
    for name, outs in results.items():
        pick = {k: statistics.median(o[k] for o in outs) for k in ("request", "headers", "body", "total")}
        statuses = sorted({o["status"] for o in outs})
        rows.append([name, "/".join(map(str, statuses)), int(pick["request"]), int(pick["headers"]),
                     int(pick["body"]), int(pick["total"])])  # fmt: skip
    print(f"Medians of {args.repeat} run(s); bytes as sent and received on the socket:\n")
    print(table(["poll", "status", "request bytes", "response header bytes", "response body bytes",
                 "response bytes in all"], rows))  # fmt: skip
    print("\nThe unchanged poll's answer, as received:\n")
    print("```\n" + results["fragment, unchanged (If-None-Match)"][0]["head"].replace(cookie, "<cookie>")
          + "\n```")  # fmt: skip


if __name__ == "__main__":
    main()
