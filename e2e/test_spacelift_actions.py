"""Run actions in Chromium: buttons only for who may act, each action behind a confirmation
dialog that says what will happen (Confirm with the delta and the commit), the page following
the run without a reload, and a failure that says why."""

from __future__ import annotations

import re

import pytest
from browser import browser_sign_in_as
from playwright.sync_api import Browser, Page, expect
from spacelift_env import PASSWORD, TEAM, spacelift_env

from spacelift_sim.testing import run_in_state


@pytest.fixture(scope="module")
def env():
    with spacelift_env(stacks=4, seed=31, config=TEAM) as e:
        yield e


def as_user(browser: Browser, env, name: str, path: str) -> Page:
    page = browser.new_context().new_page()
    browser_sign_in_as(page, env.url, name, PASSWORD, path)
    return page


def buttons(page: Page, scope: str = "body") -> list[str]:
    return page.locator(f"{scope} [data-run-action]").evaluate_all(
        "bs => bs.map(b => b.dataset.runAction)")


def mark_page(page: Page) -> None:
    """A flag that a reload would lose: the page must update in place."""
    page.evaluate("window.__noReload = true")


def still_same_page(page: Page) -> bool:
    return page.evaluate("window.__noReload === true")


def test_the_ui_hides_denied_buttons(browser: Browser, env, artifacts):
    stack_id, run_id = run_in_state(env.world, "UNCONFIRMED")
    run_path = f"/spacelift/stacks/{stack_id}/runs/{run_id}"
    stack_path = f"/spacelift/stacks/{stack_id}"
    for who, expected, may_trigger in (("vic", [], False), ("tara", [], True),
                                       ("ada", ["confirm", "discard"], True)):  # fmt: skip
        page = as_user(browser, env, who, run_path)
        expect(page.locator("ol.timeline li").first).to_be_visible()
        assert buttons(page) == expected, who
        page.goto(env.url + stack_path)
        row = f'tr[data-run-id="{run_id}"]'
        expect(page.locator(row)).to_be_visible()
        assert buttons(page, row) == expected, who
        expect(page.get_by_role("link", name="Trigger run")).to_have_count(1 if may_trigger else 0)
        if who == "ada":
            page.screenshot(path=str(artifacts / "spacelift-stack-actions.png"), full_page=True)
        page.context.close()


def test_confirm_asks_with_the_delta_and_the_commit_then_the_page_follows_the_run(
    browser: Browser, env, artifacts
):
    stack_id, run_id = run_in_state(env.world, "UNCONFIRMED")
    run = env.world.run(env.world.stack(stack_id), run_id)
    delta = f"+{run.delta.add_count} ~{run.delta.change_count} -{run.delta.delete_count}"
    page = as_user(browser, env, "ada", f"/spacelift/stacks/{stack_id}/runs/{run_id}")
    mark_page(page)
    confirm = page.get_by_role("link", name=f"Confirm run {run_id}")
    confirm.click()
    dialog = page.get_by_role("dialog", name="Confirm this run?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Spacelift applies the planned changes of run {run_id}")
    expect(dialog.locator("[data-action-dialog-delta]")).to_have_text(delta)
    expect(dialog.locator("[data-action-dialog-commit]")).to_contain_text(run.commit.hash[:7])
    page.screenshot(path=str(artifacts / "spacelift-confirm-dialog.png"))
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    assert env.sim_stats()["operations"].get("runConfirm", 0) == 0  # going back does nothing
    confirm.click()
    dialog.get_by_role("button", name="Confirm").click()
    notice = page.locator("[data-notice]")
    expect(notice).to_have_text(f"Run {run_id} confirmed: Spacelift applies its plan (CONFIRMED).")
    timeline = page.locator("section[aria-label='Run timeline']")
    expect(timeline.locator(".state-line .chip")).to_have_text("CONFIRMED")
    expect(timeline.locator("[data-run-action]")).to_have_count(0)  # nothing more to do
    expect(timeline).to_contain_text("via Greenroom by Ada Admin (ada)")  # Spacelift's note
    env.sim_post("tick", {"steps": 4})  # CONFIRMED -> PREPARING_APPLY -> APPLYING -> FINISHED
    expect(timeline.locator(".state-line .chip")).to_have_text("FINISHED", timeout=5000)
    assert still_same_page(page)
    assert env.world.run(env.world.stack(stack_id), run_id).state == "FINISHED"
    page.context.close()


def act_on_stack_page(page: Page, env, run_id: str, label: str, title: str, says: str) -> None:
    page.get_by_role("link", name=f"{label} run {run_id}").click()
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-action-dialog-text]")).to_contain_text(says)
    expect(dialog.locator("[data-action-dialog-plan]")).to_be_hidden()  # the delta is Confirm's
    dialog.locator("[data-action-confirm]").click()
    expect(dialog).to_be_hidden()


def test_discard_cancel_and_retry_each_ask_first_and_the_table_follows(browser: Browser, env):
    page = as_user(browser, env, "ada", "/")
    world = env.world

    stack_id, run_id = run_in_state(world, "UNCONFIRMED")
    page.goto(f"{env.url}/spacelift/stacks/{stack_id}")
    mark_page(page)
    act_on_stack_page(page, env, run_id, "Discard", "Discard this run?", "is thrown away and nothing is applied")
    row = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(row.locator(".chip").first).to_have_text("DISCARDED")
    expect(page.locator("[data-notice]")).to_contain_text(f"Run {run_id} discarded")
    assert world.run(world.stack(stack_id), run_id).state == "DISCARDED" and still_same_page(page)

    stack_id, run_id = run_in_state(world, "QUEUED")
    page.goto(f"{env.url}/spacelift/stacks/{stack_id}")
    expect(page.get_by_role("link", name=f"Cancel run {run_id}")).to_be_visible()
    page.get_by_role("link", name=f"Cancel run {run_id}").click()
    dialog = page.get_by_role("dialog", name="Cancel this run?")
    expect(dialog).to_contain_text("is removed from the queue")
    expect(dialog.locator("[data-action-confirm]")).to_have_text("Cancel run")
    dialog.locator("[data-action-confirm]").click()
    expect(page.locator(f'tr[data-run-id="{run_id}"] .chip').first).to_have_text("CANCELED")
    assert world.run(world.stack(stack_id), run_id).state == "CANCELED"

    stack_id, run_id = run_in_state(world, "FAILED")
    page.goto(f"{env.url}/spacelift/stacks/{stack_id}")
    mark_page(page)
    act_on_stack_page(page, env, run_id, "Retry", "Retry this run?", "starts on commit")
    notice = page.locator("[data-notice]")
    expect(notice).to_contain_text(re.compile(rf"Run {run_id} retried: the new run \w+ is QUEUED"))
    new_id = re.search(r"the new run (\w+)", notice.inner_text()).group(1)
    expect(notice.get_by_role("link", name="Open the new run")).to_have_attribute(
        "href", f"/spacelift/stacks/{stack_id}/runs/{new_id}")
    expect(page.locator(f'tr[data-run-id="{new_id}"]')).to_be_visible()  # the table refreshed
    assert still_same_page(page)
    page.context.close()


def test_a_failed_action_says_why(browser: Browser, env):
    stack_id, run_id = run_in_state(env.world, "UNCONFIRMED")
    page = as_user(browser, env, "ada", f"/spacelift/stacks/{stack_id}/runs/{run_id}")
    page.get_by_role("link", name=f"Discard run {run_id}").click()
    dialog = page.get_by_role("dialog", name="Discard this run?")
    expect(dialog).to_be_visible()
    env.world.confirm_run(stack_id, run_id, "bob", "from Spacelift's own UI")  # someone was faster
    dialog.locator("[data-action-confirm]").click()
    expect(page.locator("[data-notice]")).to_have_text(
        f"Spacelift action failed: run {run_id} is CONFIRMED; discard needs QUEUED, READY or UNCONFIRMED")
    expect(page.locator("[data-notice]")).to_have_attribute("role", "alert")
    page.context.close()
