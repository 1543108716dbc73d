"""Stack and run pages, trigger, escaping, outage and not-configured, in Chromium."""

from __future__ import annotations

import re

import pytest
from browser import browser_sign_in
from playwright.sync_api import Page, expect
from spacelift_env import spacelift_env


@pytest.fixture(scope="module")
def env():
    with spacelift_env(stacks=20, seed=21) as e:
        yield e


def a_stack_with_history(env) -> dict:
    items = env.api("GET", "/stacks", params={"perPage": 100}).json()["items"]
    for s in items:
        runs = env.api("GET", f"/stacks/{s['id']}/runs").json()
        if not (runs["nextBefore"] and s["trackedCommit"]):
            continue
        older = env.api("GET", f"/stacks/{s['id']}/runs", params={"before": runs["nextBefore"]}).json()
        if older["items"]:
            return s
    raise AssertionError("no stack has two pages of runs")


def test_stack_page_configuration_last_deployment_and_runs(page: Page, env, artifacts):
    stack = a_stack_with_history(env)
    detail = env.api("GET", f"/stacks/{stack['id']}").json()
    browser_sign_in(page, env.url, "/spacelift/")
    page.get_by_role("link", name=stack["name"], exact=True).click()
    page.wait_for_url(f"{env.url}/spacelift/stacks/{stack['id']}")
    config = page.locator("section", has=page.get_by_role("heading", name="Configuration"))
    for label, value in (("Branch", detail["branch"]), ("Project root", detail["projectRoot"] or "/"),
                         ("Provider", detail["provider"]), ("Worker pool", detail["workerPool"]["name"]),
                         ("Autodeploy", "yes" if detail["configuration"]["autodeploy"] else "no"),
                         ("Administrative", "yes" if detail["configuration"]["administrative"] else "no"),
                         ("Space", detail["spaceDetails"]["name"])):
        expect(config.locator("dt", has_text=re.compile(rf"^{label}$")).locator("+ dd")).to_contain_text(value)
    expect(config.get_by_role("link", name=re.compile(re.escape(detail["repository"])))).to_be_visible()
    if detail["vendor"]:
        expect(config.locator("dt:text-is('Vendor') + dd")).to_contain_text(detail["vendor"])
    last = page.locator("section", has=page.get_by_role("heading", name="State"))
    expect(last.locator("dt:text-is('Tracked commit') + dd")).to_contain_text(detail["trackedCommit"]["hash"][:7])
    expect(page.get_by_test_id("last-deployment")).to_contain_text(re.compile(r"took \d"))
    runs = env.api("GET", f"/stacks/{stack['id']}/runs").json()
    table = page.locator("table.runs tbody tr[data-run-id]")
    expect(table).to_have_count(len(runs["items"]))
    first_finished = next(r for r in runs["items"] if r["finished"] and r["delta"])
    row = page.locator(f'tr[data-run-id="{first_finished["id"]}"]')
    d = first_finished["delta"]
    expect(row.locator("td.delta")).to_have_text(f"+{d['addCount']} ~{d['changeCount']} -{d['deleteCount']}")
    expect(row.locator("td").nth(6)).to_have_text(re.compile(r"\d+ (s|min|h)"))
    page.screenshot(path=str(artifacts / "spacelift-stack.png"), full_page=True)
    # Older runs page in.
    page.get_by_role("link", name="Older runs").click()
    page.wait_for_url(re.compile(r"before="))
    older = env.api("GET", f"/stacks/{stack['id']}/runs", params={"before": runs["nextBefore"]}).json()
    expect(table.first).to_have_attribute("data-run-id", older["items"][0]["id"])
    assert not set(table.evaluate_all("rs => rs.map(r => r.dataset.runId)")) & {r["id"] for r in runs["items"]}


def test_run_page_timeline_and_deep_links(page: Page, env, artifacts):
    stack = a_stack_with_history(env)
    run = next(r for r in env.api("GET", f"/stacks/{stack['id']}/runs").json()["items"] if r["finished"])
    detail = env.api("GET", f"/stacks/{stack['id']}/runs/{run['id']}").json()
    browser_sign_in(page, env.url, f"/spacelift/stacks/{stack['id']}")
    page.locator(f'tr[data-run-id="{run["id"]}"] td a').first.click()
    page.wait_for_url(f"{env.url}/spacelift/stacks/{stack['id']}/runs/{run['id']}")
    steps = page.locator("ol.timeline li")
    expect(steps).to_have_count(len(detail["history"]))
    oldest_first = [h["state"] for h in sorted(detail["history"], key=lambda h: (h["timestamp"], h["stateVersion"]))]
    assert steps.evaluate_all("ls => ls.map(l => l.dataset.state)") == oldest_first
    expect(steps.first.locator(".phase")).to_have_text(re.compile(r"^\d+ (s|min|h)"))
    expect(steps.last.locator(".phase")).to_have_text("final")
    base = env.sim.url
    expect(page.get_by_role("link", name="Open this run in Spacelift")).to_have_attribute(
        "href", f"{base}/stack/{stack['id']}/run/{run['id']}")
    page.screenshot(path=str(artifacts / "spacelift-run.png"), full_page=True)
    page.goto(f"{env.url}/spacelift/")
    expect(page.get_by_role("link", name=f"Open {stack['name']} in Spacelift")).to_have_attribute(
        "href", f"{base}/stack/{stack['id']}")
    space_link = page.locator(f'tr[data-stack-id="{stack["id"]}"] td').nth(4).get_by_role("link")
    expect(space_link).to_have_attribute("href", f"{base}/spaces/{stack['spaceDetails']['id']}")


def test_trigger_asks_first_then_shows_the_new_run(page: Page):
    with spacelift_env(stacks=10, seed=4) as env:
        items = env.api("GET", "/stacks", params={"perPage": 100}).json()["items"]
        target = next(s for s in items if s["state"] in ("FINISHED", "FAILED", "NONE", "DISCARDED", "STOPPED")
                      and not s["lockedBy"] and not s["isDisabled"])
        browser_sign_in(page, env.url, f"/spacelift/stacks/{target['id']}")
        before = page.locator("table.runs tbody tr[data-run-id]").count()
        page.get_by_role("link", name="Trigger run").click()
        dialog = page.get_by_role("dialog", name="Trigger a run?")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(target["name"])
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        assert env.sim_stats()["operations"].get("runTrigger", 0) == 0  # cancel triggers nothing
        page.get_by_role("link", name="Trigger run").click()
        dialog.get_by_role("button", name="Trigger run").click()
        notice = page.locator("[data-notice]")
        expect(notice).to_contain_text(re.compile(r"Run \w+ \(QUEUED\) triggered"))
        run_id = re.search(r"Run (\w+)", notice.inner_text()).group(1)
        expect(notice.get_by_role("link", name="Open the run")).to_have_attribute(
            "href", f"/spacelift/stacks/{target['id']}/runs/{run_id}")
        expect(page.locator(f'tr[data-run-id="{run_id}"]')).to_be_visible(timeout=3000)
        assert page.locator("table.runs tbody tr[data-run-id]").count() >= min(before + 1, 20)


def test_read_only_hides_trigger_and_the_api_refuses(page: Page):
    with spacelift_env(stacks=8, seed=4, readOnly=True) as env:
        browser_sign_in(page, env.url, "/spacelift/")
        expect(page.locator("table.stacks tbody tr[data-stack-id]").first).to_be_visible()
        expect(page.get_by_role("link", name="Trigger run")).to_have_count(0)
        stack_id = page.locator("table.stacks tbody tr[data-stack-id]").first.get_attribute("data-stack-id")
        page.goto(f"{env.url}/spacelift/stacks/{stack_id}")
        expect(page.get_by_role("link", name="Trigger run")).to_have_count(0)
        answer = env.api("POST", f"/stacks/{stack_id}/trigger")
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "spacelift_read_only"


def test_hostile_names_are_shown_as_text(page: Page):
    with spacelift_env(stacks=5, seed=2) as env:
        env.sim_post("stacks", {"id": "xss-stack", "name": '<img src=x onerror="window.__xss=1">',
                                "description": "<script>window.__xss=2</script> owned by mallory",
                                "labels": ['<b onmouseover="window.__xss=3">label</b>']})
        browser_sign_in(page, env.url, "/spacelift/?q=xss")
        row = page.locator('tr[data-stack-id="xss-stack"]')
        expect(row.get_by_role("link", name='<img src=x onerror="window.__xss=1">', exact=True)).to_be_visible()
        expect(row.locator("td.description")).to_contain_text("<script>window.__xss=2</script>")
        expect(row.locator(".chip.label")).to_have_text('<b onmouseover="window.__xss=3">label</b>')
        with page.expect_response(lambda r: "/fragments/overview" in r.url):
            pass  # one poll
        assert page.evaluate("typeof window.__xss") == "undefined"
        page.goto(f"{env.url}/spacelift/stacks/xss-stack")
        expect(page.get_by_role("heading", level=1)).to_contain_text('<img src=x onerror="window.__xss=1">')
        assert page.evaluate("typeof window.__xss") == "undefined"


def test_outage_banner_keeps_rows_and_goes_when_spacelift_is_back(page: Page):
    with spacelift_env(stacks=10, seed=8) as env:
        browser_sign_in(page, env.url, "/spacelift/")
        rows = page.locator("table.stacks tbody tr[data-stack-id]")
        expect(rows).to_have_count(10)
        env.sim_post("faults", {"mode": "down"})
        banner = page.locator(".banner")
        expect(banner).to_be_visible(timeout=4000)
        expect(banner).to_contain_text(re.compile(r"Showing the last good data from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
        expect(banner.get_by_test_id("error-hint")).to_contain_text("hostUrl")
        expect(rows).to_have_count(10)  # the last good data stays on screen
        env.sim_post("faults", {"mode": "none"})
        expect(banner).to_have_count(0, timeout=2500)  # one interval (1 s) plus the cache window
        expect(rows).to_have_count(10)


def test_retry_button_retries_at_once(page: Page):
    with spacelift_env(stacks=6, seed=8, pollIntervalSeconds=30) as env:
        browser_sign_in(page, env.url, "/spacelift/")
        env.sim_post("faults", {"mode": "down"})
        page.wait_for_timeout(600)  # past the cache window
        page.get_by_role("button", name="Refresh").click()
        banner = page.locator(".banner")
        expect(banner).to_be_visible(timeout=4000)
        env.sim_post("faults", {"mode": "none"})
        page.wait_for_timeout(600)
        banner.get_by_role("button", name="Retry").click()
        expect(banner).to_have_count(0, timeout=3000)  # long before the 30 s interval


def test_not_configured_page_explains_how(page: Page):
    with spacelift_env(stacks=3, configured=False) as env:
        browser_sign_in(page, env.url, "/spacelift/")
        expect(page.get_by_role("heading", name="Spacelift is not configured yet")).to_be_visible()
        expect(page.locator("pre.config")).to_contain_text("hostUrl:")
        expect(page.locator("pre.config")).to_contain_text("apiSecret: ${SPACELIFT_API_SECRET}")
        answer = env.api("GET", "/stacks")
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "spacelift_not_configured"
