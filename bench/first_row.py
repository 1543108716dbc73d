"""Time until the first stack row of the overview is visible, for 50 and 2,000 stacks.

Each load is a first load in a fresh browser context (empty HTTP cache, signed in by cookie).
Two backend states are measured side by side:
  warm: the backend's response cache holds the stack list (what most viewers get);
  cold: the cache window has passed, so the page waits for one upstream query.
Prints a Markdown table of medians. Everything runs on 127.0.0.1 and stops by itself.

    .venv/bin/python bench/first_row.py [--runs 7] [--stacks 50 2000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
from spacelift_env import spacelift_env

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def cookie(base_url: str) -> dict:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base_url}/login", timeout=10).text).group(1)
    s.post(f"{base_url}/login", data={"csrf_token": token, "provider": "guest"}, timeout=10)
    return {"name": "greenroom_session", "value": s.cookies["greenroom_session"], "url": base_url}


def one_load(browser, url: str, jar: dict) -> tuple[float, float]:
    context = browser.new_context()
    context.add_cookies([jar])
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(f"{url}/spacelift/", wait_until="commit")
        page.locator("table.stacks tbody tr[data-stack-id]").first.wait_for(state="visible")
        wall = (time.perf_counter() - start) * 1000
        fcp = page.evaluate(
            "() => { const e = performance.getEntriesByName('first-contentful-paint')[0];"
            " return e ? e.startTime : null; }"
        )
        return wall, fcp or float("nan")
    finally:
        context.close()


def measure(stacks: int, runs: int, browser) -> dict[str, tuple[float, float]]:
    out = {}
    for mode, ttl in (("warm", 3600.0), ("cold", 0.1)):
        with spacelift_env(stacks=stacks, seed=7, cacheTtlSeconds=ttl, pollIntervalSeconds=60) as env:
            jar = cookie(env.url)
            one_load(browser, env.url, jar)  # token exchange and, when warm, fill the cache
            walls, fcps = [], []
            for _ in range(runs):
                if mode == "cold":
                    time.sleep(0.2)  # let the cache window pass
                wall, fcp = one_load(browser, env.url, jar)
                walls.append(wall)
                fcps.append(fcp)
            out[mode] = (statistics.median(walls), statistics.median(fcps))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--stacks", type=int, nargs="+", default=[50, 2000])
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            print("| stacks | backend cache | first row visible, median ms | first contentful paint, median ms |")
            print("| ---: | --- | ---: | ---: |")
            for n in args.stacks:
                for mode, (wall, fcp) in measure(n, args.runs, browser).items():
                    print(f"| {n} | {mode} | {wall:.0f} | {fcp:.0f} |", flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
