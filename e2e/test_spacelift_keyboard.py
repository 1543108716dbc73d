"""Everything works from the keyboard: tabs, filters, links, and the trigger dialog."""

from __future__ import annotations

import re

from browser import browser_sign_in
from playwright.sync_api import Page, expect
from spacelift_env import spacelift_env


def focus_by_tabbing(page: Page, locator, limit: int = 200) -> None:
    """Press Tab until `locator` has the focus (fails if it never gets it)."""
    handle = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("el => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError("never reached by Tab")


def test_overview_and_trigger_dialog_from_the_keyboard(page: Page):
    with spacelift_env(stacks=12, seed=4) as env:
        browser_sign_in(page, env.url, "/spacelift/")
        failed_tab = page.get_by_role("navigation", name="Filter stacks by state").get_by_role("link", name="Failed")
        focus_by_tabbing(page, failed_tab)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"tab=failed"))
        search = page.get_by_role("searchbox", name="Search")
        focus_by_tabbing(page, search)
        page.keyboard.type("prod")
        page.keyboard.press("Enter")  # submits the filter form
        page.wait_for_url(re.compile(r"q=prod"))
        page.goto(f"{env.url}/spacelift/")
        trigger = page.get_by_role("link", name="Trigger run").first
        focus_by_tabbing(page, trigger)
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Trigger a run?")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_role("button", name="Trigger run")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        assert env.sim_stats()["operations"].get("runTrigger", 0) == 0
        row_link = page.locator("table.stacks tbody th.name a").first
        focus_by_tabbing(page, row_link)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/spacelift/stacks/"))
        expect(page.get_by_role("heading", name="Configuration")).to_be_visible()
