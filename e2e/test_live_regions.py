"""The host's live-region poller, in a real Chromium."""

from __future__ import annotations

import time

import pytest
from browser import browser_sign_in
from live_plugin import LivePlugin, LiveState
from playwright.sync_api import Page, expect

from host.testing import make_app, serve


@pytest.fixture
def live():
    state = LiveState()
    app = make_app(plugins=[LivePlugin(state)])
    with serve(app) as server:
        yield state, server.url


def open_page(page: Page, url: str) -> None:
    browser_sign_in(page, url, "/livetest/")
    expect(page.get_by_test_id("value")).to_have_text("one")
    page.evaluate("window.__noReload = 'still here'")


def region(page: Page):
    return page.locator("[data-live-src]")


def test_updates_without_a_reload(page: Page, live):
    state, url = live
    open_page(page, url)
    state.value = "two"
    expect(page.get_by_test_id("value")).to_have_text("two", timeout=5000)
    assert page.evaluate("window.__noReload") == "still here"
    expect(page.locator("[data-live-age]")).to_contain_text("Updated")


def test_an_unchanged_fragment_gets_304(page: Page, live):
    state, url = live
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/fragments/value" in r.url else None)
    open_page(page, url)
    page.wait_for_timeout(3000)
    assert statuses.count(304) >= 3, statuses
    assert statuses.count(304) == state.not_modified
    assert all(s == 304 for s in statuses), "an unchanged fragment is never sent again"


def test_a_slow_fragment_never_has_two_requests_in_flight(page: Page, live):
    state, url = live
    state.delay = 1.2  # much longer than the 0.5 s interval
    open_page(page, url)
    page.wait_for_timeout(5000)
    assert state.requests >= 3
    assert state.max_in_flight == 1


def test_errors_back_off_keep_content_and_recover(page: Page, live):
    state, url = live
    open_page(page, url)
    state.fail_status = 503
    expect(region(page)).to_have_attribute("data-live-state", "error", timeout=5000)
    expect(page.locator("[data-live-mark]")).to_have_text("stale")
    expect(page.locator("[data-live-age]")).to_contain_text("Update failed (HTTP 503)")
    expect(page.get_by_test_id("value")).to_have_text("one")  # the last good content stays
    start = state.requests
    page.wait_for_timeout(4500)
    # 0.5 s interval doubling from the first failure: 1, 2, 4 s... at most ~3 polls in 4.5 s
    # (without back-off it would be 9).
    failed_polls = state.requests - start
    assert 1 <= failed_polls <= 3, failed_polls
    gaps = [b - a for a, b in zip(state.times[-3:], state.times[-2:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    state.fail_status = None
    state.value = "three"
    page.get_by_role("button", name="Refresh").click()  # recovery without waiting the back-off
    expect(page.get_by_test_id("value")).to_have_text("three", timeout=5000)
    expect(region(page)).to_have_attribute("data-live-state", "ok")
    expect(page.locator("[data-live-mark]")).to_have_text("live")


def test_backs_off_up_to_60_seconds(page: Page, live):
    state, url = live
    open_page(page, url)
    state.fail_status = 500
    expect(region(page)).to_have_attribute("data-live-state", "error", timeout=5000)
    delays = page.evaluate(
        """() => { const r = document.querySelector('[data-live-src]').greenroomLive;
                    const out = [];
                    for (const n of [1, 2, 3, 6, 7, 12]) { r.failures = n; out.push(r.delay()); }
                    return out; }"""
    )
    assert delays == [1000, 2000, 4000, 32000, 60000, 60000]


def test_recovers_by_itself_when_the_server_does(page: Page, live):
    state, url = live
    open_page(page, url)
    state.fail_status = 502
    expect(region(page)).to_have_attribute("data-live-state", "error", timeout=5000)
    state.fail_status = None
    state.value = "back"
    expect(page.get_by_test_id("value")).to_have_text("back", timeout=8000)
    expect(region(page)).to_have_attribute("data-live-state", "ok")


def test_pauses_while_hidden_and_refreshes_when_shown(page: Page, live):
    state, url = live
    open_page(page, url)
    page.evaluate(
        """() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
                   document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    page.wait_for_timeout(700)
    before = state.requests
    page.wait_for_timeout(2000)
    assert state.requests - before <= 0, "no polling while the tab is hidden"
    state.value = "seen"
    shown_at = time.monotonic()
    page.evaluate(
        """() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
                   document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    expect(page.get_by_test_id("value")).to_have_text("seen", timeout=2000)
    assert time.monotonic() - shown_at < 2.0
