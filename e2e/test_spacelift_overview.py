"""The Spacelift overview in Chromium: the list, its chips, filters in the URL, live updates."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from browser import browser_sign_in
from playwright.sync_api import Page, expect
from spacelift_env import spacelift_env

from spacelift_frontend.presentation import STACK_CHIP


@pytest.fixture(scope="module")
def env():
    with spacelift_env(stacks=45, seed=11) as e:
        for stack in e.world.all_stacks()[3:5]:  # make sure the Locked tab has something
            if not stack.locked_by:
                e.world.lock_stack(stack.id, "alice", "maintenance")
        yield e


def rows(page: Page):
    return page.locator("table.stacks tbody tr[data-stack-id]")


def row_ids(page: Page) -> list[str]:
    return rows(page).evaluate_all("rs => rs.map(r => r.dataset.stackId)")


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_nav_entry_leads_to_the_overview_listing_every_stack(page: Page, env, artifacts):
    browser_sign_in(page, env.url)
    page.get_by_role("navigation", name="Plugins").get_by_role("link", name="Spacelift").click()
    page.wait_for_url(f"{env.url}/spacelift/")
    expect(page.get_by_role("heading", name="Spacelift", exact=True)).to_be_visible()
    expect(page.get_by_text("Manage your stacks")).to_be_visible()
    expect(page.locator("table.stacks caption")).to_contain_text(f"Spacelift Stacks ({len(env.world.all_stacks())})")
    expect(rows(page)).to_have_count(20)
    truth = {s["id"]: s for s in env.api("GET", "/stacks", params={"perPage": 100}).json()["items"]}
    assert len(truth) == 45
    for stack_id in row_ids(page):
        chip = page.locator(f'tr[data-stack-id="{stack_id}"] .chip[data-state]')
        state = truth[stack_id]["state"]
        expect(chip).to_have_text(state)
        expect(chip).to_have_class(re.compile(rf"\bchip {STACK_CHIP.get(state, 'neutral')}\b"))
    page.screenshot(path=str(artifacts / "spacelift-overview.png"), full_page=True)


def test_tabs_filter_rows_and_live_in_the_url(page: Page, env):
    browser_sign_in(page, env.url, "/spacelift/")
    everything = env.api("GET", "/stacks", params={"perPage": 100}).json()["items"]
    for label, tab, category in (("Failed", "failed", "failed"), ("In progress", "progress", "inProgress"),
                                 ("Finished", "finished", "finished"), ("Needs attention", "attention", "needsAttention")):
        page.get_by_role("navigation", name="Filter stacks by state").get_by_role("link", name=label).click()
        page.wait_for_url(re.compile(rf"tab={tab}"))
        expected = sorted(s["id"] for s in everything if s["stateCategory"] == category)[:20]
        assert sorted(row_ids(page)) == expected, label
    page.get_by_role("navigation", name="Filter stacks by state").get_by_role("link", name="Locked").click()
    page.wait_for_url(re.compile(r"tab=locked"))
    locked = sorted(s["id"] for s in everything if s["lockedBy"])
    assert locked and sorted(row_ids(page)) == locked
    page.go_back()
    page.wait_for_url(re.compile(r"tab=attention"))


def test_search_label_sort_and_pagination(page: Page, env):
    browser_sign_in(page, env.url, "/spacelift/")
    everything = env.api("GET", "/stacks", params={"perPage": 100}).json()["items"]
    # search
    word = everything[0]["name"].split("-")[1]
    page.get_by_role("searchbox", name="Search").fill(word)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf"q={word}"))
    assert row_ids(page) and all(word in i for i in row_ids(page))
    # label (kept together with the search)
    label = next(lab for s in everything if word in s["id"] for lab in s["labels"])
    page.get_by_label("Label").fill(label)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"label="))
    assert query(page)["label"] == [label] and query(page)["q"] == [word]
    expected = sorted(s["id"] for s in everything if label in s["labels"] and word in " ".join(
        [s["id"], s["name"], s["description"] or "", *s["labels"]]).lower())
    assert sorted(row_ids(page)) == expected
    # sort by last change, newest first
    page.goto(f"{env.url}/spacelift/")
    page.get_by_label("Sort by").select_option("-stateSetAt")
    page.wait_for_url(re.compile(r"sort=-stateSetAt"))
    times = [s["stateSetAt"] or 0 for s in sorted(everything, key=lambda s: -(s["stateSetAt"] or 0))]
    shown = {s["id"]: s["stateSetAt"] or 0 for s in everything}
    assert [shown[i] for i in row_ids(page)] == times[:20]
    # pagination
    page.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    assert [shown[i] for i in row_ids(page)] == times[20:40]
    page.get_by_role("link", name="Next").click()
    expect(rows(page)).to_have_count(5)
    page.get_by_role("searchbox", name="Search").fill("no-such-stack-anywhere")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No stacks found")).to_be_visible()


def test_a_run_the_simulator_advances_changes_its_row_within_one_interval(page: Page):
    with spacelift_env(stacks=12, seed=5) as env:
        browser_sign_in(page, env.url, "/spacelift/")
        everything = env.api("GET", "/stacks", params={"perPage": 100}).json()["items"]
        target = next(s for s in everything if s["state"] in ("FINISHED", "FAILED", "NONE") and not s["lockedBy"] and not s["isDisabled"])
        chip = page.locator(f'tr[data-stack-id="{target["id"]}"] .chip[data-state]')
        expect(chip).to_have_text(target["state"])
        statuses: list[int] = []
        page.on("response", lambda r: statuses.append(r.status) if "/fragments/overview" in r.url else None)
        page.wait_for_timeout(3000)
        assert statuses.count(304) >= 2, statuses  # unchanged polls cost a 304
        assert all(s == 304 for s in statuses), statuses
        answer = env.api("POST", f"/stacks/{target['id']}/trigger")
        assert answer.status_code == 200, answer.text
        env.sim_post("tick", {"steps": 1})  # QUEUED -> READY: the stack's state follows
        new_state = env.world.stack(target["id"]).state
        assert new_state != target["state"]
        # One poll interval is 1 s; allow it plus the 0.5 s cache window and the request.
        expect(chip).to_have_text(new_state, timeout=2500)
