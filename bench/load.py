"""Load generation and reporting for the benchmarks: pollers on threads, wrk, percentiles."""

from __future__ import annotations

import os
import platform
import random
import re
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    """One line: date, cores, CPU model, Python, for the head of every report."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    date = subprocess.run(["date"], capture_output=True, text=True).stdout.strip()
    return (f"{date}; nproc {os.cpu_count()}; {model}; Python {platform.python_version()}; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip


@dataclass
class PollResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    bytes_in: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def poll(
    pollers: int,
    seconds: float,
    interval: float,
    make_session: Callable[[int], requests.Session],
    url_for: Callable[[int], str],
    headers: dict[str, str] | None = None,
    conditional: bool = False,
) -> PollResult:
    """`pollers` threads GET their url every `interval` seconds for `seconds` (closed loop: a
    poller never has two requests in flight, like the host's poller). Starts are spread over
    the first interval. With `conditional`, each sends If-None-Match with its last ETag."""
    result = PollResult()
    guard = threading.Lock()
    deadline = time.monotonic() + seconds
    rng = random.Random(7)
    offsets = [rng.uniform(0, interval) for _ in range(pollers)]
    sessions = [make_session(i) for i in range(pollers)]

    def run(i: int) -> None:
        session, url, etag = sessions[i], url_for(i), None
        time.sleep(offsets[i])
        while True:
            started = time.monotonic()
            if started >= deadline:
                return
            sent = dict(headers or {})
            if conditional and etag:
                sent["If-None-Match"] = etag
            try:
                answer = session.get(url, headers=sent, timeout=60)
                took = (time.monotonic() - started) * 1000
                with guard:
                    result.latencies_ms.append(took)
                    result.statuses[answer.status_code] += 1
                    result.bytes_in += len(answer.content)
                if answer.status_code == 200:
                    etag = answer.headers.get("ETag") or etag
            except requests.RequestException:
                with guard:
                    result.errors += 1
            pause = interval - (time.monotonic() - started)
            if pause > 0:
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(pollers)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    result.seconds = time.monotonic() - began
    for s in sessions:
        s.close()
    return result


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: float, connections: int = 10, threads: int = 1,
        headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run wrk once; req/s, p50 and p99 (ms), requests, non-2xx and socket errors."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    found = {q: re.search(rf"^\s+{q}%\s+(\S+)", out, re.M) for q in ("50", "99")}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if rps is None or total is None or not all(found.values()):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return {
        "rps": float(rps.group(1)),
        "p50": _ms(found["50"].group(1)),  # type: ignore[union-attr]
        "p99": _ms(found["99"].group(1)),  # type: ignore[union-attr]
        "requests": int(total.group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.1f}" if abs(value) >= 10 or value == 0 else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def scratch(name: str) -> Path:
    """A new scratch folder for one benchmark run."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"greenroom-bench-{name}-"))
