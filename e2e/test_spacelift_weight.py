"""The overview's first load stays light: under 150 KB in all with 50 stacks."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Browser
from spacelift_env import spacelift_env

BUDGET = 150 * 1024


def session_cookie(base_url: str) -> dict:
    """Sign in over HTTP, so the browser's first page is the overview itself."""
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base_url}/login", timeout=10).text).group(1)
    s.post(f"{base_url}/login", data={"csrf_token": token, "provider": "guest"}, timeout=10)
    return {"name": "greenroom_session", "value": s.cookies["greenroom_session"], "url": base_url}


def test_first_load_of_the_overview_is_under_150_kb(browser: Browser):
    with spacelift_env(stacks=50, seed=50) as env:
        context = browser.new_context()  # empty cache
        context.add_cookies([session_cookie(env.url)])
        page = context.new_page()
        try:
            finished = []
            page.on("requestfinished", lambda r: finished.append(r))
            page.goto(f"{env.url}/spacelift/")
            page.locator("table.stacks tbody tr[data-stack-id]").first.wait_for()
            page.wait_for_load_state("load")
            sizes = {r.url: r.sizes() for r in finished}
            names = {url.rsplit("/", 1)[-1] for url in sizes}
            assert {"", "spacelift.css", "spacelift.js", "host.css", "live.js"} <= names, names
            assert all(s["responseBodySize"] > 0 for s in sizes.values()), sizes  # nothing cached
            total = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes.values())
            print(f"overview first load with 50 stacks: {len(sizes)} responses, {total} bytes")
            assert total < BUDGET, (total, sizes)
        finally:
            context.close()
