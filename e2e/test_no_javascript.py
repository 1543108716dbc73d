"""First paint needs no JavaScript: pages render and forms work with scripting off."""

from __future__ import annotations

from browser import browser_sign_in
from playwright.sync_api import Browser, expect

from host.testing import make_app, serve


def test_first_paint_and_forms_work_without_javascript(browser: Browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        with serve(make_app(load_entrypoints=True)) as server:
            browser_sign_in(page, server.url, "/hello/")
            expect(page.get_by_test_id("waves")).to_have_text("0")
            page.get_by_role("button", name="Wave").click()
            expect(page.get_by_test_id("waves")).to_have_text("1")
            page.goto(server.url + "/no/such/page")
            expect(page.get_by_role("heading", name="404 · Not Found")).to_be_visible()
            expect(page.get_by_role("link", name="Hello")).to_be_visible()  # in the layout
    finally:
        context.close()
