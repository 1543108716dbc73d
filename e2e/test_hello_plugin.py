"""The pip-installed example plugin, found through its entry point, in a real browser."""

from __future__ import annotations

import requests
from browser import browser_sign_in
from playwright.sync_api import Page, expect

from host.testing import make_app, serve

TOKEN = "e2e-hello-token-0123456789"


def test_hello_nav_page_and_live_region(page: Page, artifacts):
    app = make_app(
        {"backend": {"auth": {"externalAccess": [
            {"type": "static", "options": {"token": TOKEN, "subject": "e2e"}}]}}},
        load_entrypoints=True,
    )
    with serve(app) as server:
        browser_sign_in(page, server.url)
        page.get_by_role("navigation", name="Plugins").get_by_role("link", name="Hello").click()
        page.wait_for_url(f"{server.url}/hello/")
        expect(page.get_by_role("heading", name="Hello", exact=True)).to_be_visible()
        expect(page.get_by_test_id("waves")).to_have_text("0")
        # Someone else waves through the API; the page shows it without a reload.
        answer = requests.post(f"{server.url}/api/hello/wave",
                               headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert answer.status_code == 200 and answer.json()["waves"] == 1
        expect(page.get_by_test_id("waves")).to_have_text("1", timeout=8000)
        expect(page.locator(".greeting")).to_have_text("Hello, Guest!")
        # The form works too (first paint and actions need no JavaScript).
        page.get_by_role("button", name="Wave").click()
        expect(page.get_by_test_id("waves")).to_have_text("2")
        page.screenshot(path=str(artifacts / "hello.png"), full_page=True)
