"""The Spacelift connection page in Chromium: the admin points the portal at a second simulator
and the overview shows its stacks without a restart; the secret is never echoed back; "Test
connection" reports bad credentials with the auth-failure hint; the form validates beside the
fields; and a portal without a spacelift block becomes configured from this page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import browser_sign_in_as
from playwright.sync_api import Page, Route, expect
from spacelift_env import PASSWORD, TEAM, spacelift_env

from spacelift_sim import World
from spacelift_sim import create_app as create_sim
from spacelift_sim.testing import ServerHandle, run_in_thread

SECOND_KEY = "01SECONDKEY000000000000CCC"
SECOND_SECRET = "second-account-secret-Xy7-do-not-echo"


@pytest.fixture(scope="module")
def second() -> Iterator[tuple[World, ServerHandle]]:
    """Another Spacelift account: 5 stacks of another seed, another API key."""
    world = World(stacks=5, seed=404, activity=0, key_id=SECOND_KEY, key_secret=SECOND_SECRET)
    server = run_in_thread(create_sim(world))
    yield world, server
    server.stop()


def host_of(server: ServerHandle) -> str:
    return server.url.split("://", 1)[1]


def stack_rows(page: Page):
    return page.locator("table.stacks tbody tr[data-stack-id]")


def row_ids(page: Page) -> set[str]:
    return set(stack_rows(page).evaluate_all("rs => rs.map(r => r.dataset.stackId)"))


def record_bodies(page: Page) -> list[str]:
    """Every answer the browser receives from now on (pages, fragments, API, scripts)."""
    bodies: list[str] = []

    def through(route: Route) -> None:
        response = route.fetch(max_redirects=0)
        bodies.append(response.text())
        route.fulfill(response=response)

    page.route("**/*", through)
    return bodies


def fill(page: Page, host: str, key: str, secret: str) -> None:
    page.get_by_label("Host URL").fill(host)
    page.get_by_label("API Key ID").fill(key)
    page.get_by_label("API Key Secret").fill(secret)


def test_the_admin_points_the_portal_at_a_second_simulator(page: Page, second, artifacts):
    world, server = second
    with spacelift_env(stacks=7, seed=5, config=TEAM) as env:
        first_ids = {s.id for s in env.world.all_stacks()}
        second_ids = {s.id for s in world.all_stacks()}
        assert not first_ids & second_ids
        browser_sign_in_as(page, env.url, "ada", PASSWORD, "/spacelift/")
        expect(stack_rows(page)).to_have_count(7)
        assert row_ids(page) == first_ids
        bodies = record_bodies(page)

        page.goto(env.url + "/")
        page.get_by_role("link", name="Spacelift connection").click()
        page.wait_for_url(f"{env.url}/administration/spacelift/")
        expect(page.get_by_test_id("settings-source")).to_contain_text("From app-config.yaml")
        fill(page, host_of(server), SECOND_KEY, SECOND_SECRET)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{env.url}/administration/spacelift/?done=saved")
        expect(page.get_by_test_id("admin-notice")).to_contain_text("no restart is needed")
        expect(page.get_by_test_id("settings-source")).to_contain_text("by user:ada")
        expect(page.get_by_label("API Key Secret")).to_have_value("")
        expect(page.get_by_label("Host URL")).to_have_value(host_of(server))
        page.screenshot(path=str(artifacts / "spacelift-admin.png"), full_page=True)
        assert SECOND_SECRET not in page.content()

        # The overview now shows the second account, in the same running portal.
        page.get_by_role("navigation", name="Plugins").get_by_role("link", name="Spacelift").click()
        expect(stack_rows(page)).to_have_count(5)
        assert row_ids(page) == second_ids
        api = page.request.get(f"{env.url}/api/spacelift/admin/settings")
        assert api.ok and api.json()["inEffect"]["hostUrl"] == host_of(server)
        assert SECOND_SECRET not in api.text()

        # Back to app-config.yaml.
        page.goto(f"{env.url}/administration/spacelift/")
        page.get_by_role("button", name="Revert to app-config.yaml").click()
        expect(page.get_by_test_id("settings-source")).to_contain_text("From app-config.yaml")
        page.goto(f"{env.url}/spacelift/")
        expect(stack_rows(page)).to_have_count(7)
        assert row_ids(page) == first_ids

        assert bodies and not any(SECOND_SECRET in body for body in bodies)


def test_test_connection_reports_bad_credentials_with_the_hint(page: Page, second):
    _world, server = second
    with spacelift_env(stacks=3, seed=6, config=TEAM) as env:
        browser_sign_in_as(page, env.url, "ada", PASSWORD, "/administration/spacelift/")
        bodies = record_bodies(page)
        fill(page, host_of(server), SECOND_KEY, "wrong-" + SECOND_SECRET)
        page.get_by_role("button", name="Test connection").click()
        result = page.get_by_test_id("test-result")
        expect(result).to_contain_text("Connection test failed:")
        expect(result).to_contain_text("the secret may be wrong")
        expect(result.get_by_test_id("error-hint")).to_contain_text(
            "Check that spacelift.apiKey (the key id) and spacelift.apiSecret are correct")
        expect(page.get_by_label("API Key Secret")).to_have_value("")  # not echoed back
        expect(page.get_by_test_id("retype-secret")).to_be_visible()  # so Save cannot mislead
        # The right secret: success, naming Spacelift's user; nothing was saved.
        page.get_by_label("API Key Secret").fill(SECOND_SECRET)
        page.get_by_role("button", name="Test connection").click()
        expect(result).to_contain_text(f"Connected to {host_of(server)}")
        expect(page.get_by_test_id("settings-source")).to_contain_text("From app-config.yaml")
        assert not any(SECOND_SECRET in body for body in bodies)


def test_the_form_validates_beside_the_fields(page: Page):
    with spacelift_env(stacks=2, seed=7, config=TEAM) as env:
        browser_sign_in_as(page, env.url, "ada", PASSWORD, "/administration/spacelift/")
        fill(page, "http://acme.app.spacelift.io", "", "")
        page.get_by_role("button", name="Save").click()
        host = page.get_by_label("Host URL")
        expect(host).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#hostUrl-error")).to_have_text(
            "http:// is allowed only for a loopback host (127.0.0.1, ::1 or localhost); "
            "write the bare host to use https")
        expect(page.locator("#apiKey-error")).to_have_text("required: the API key id")
        expect(page.get_by_test_id("settings-source")).to_contain_text("From app-config.yaml")


def test_a_portal_without_a_spacelift_block_is_configured_from_the_page(page: Page, second):
    world, server = second
    with spacelift_env(configured=False, config=TEAM) as env:
        browser_sign_in_as(page, env.url, "ada", PASSWORD, "/spacelift/")
        expect(page.get_by_role("heading", name="Spacelift is not configured yet")).to_be_visible()
        page.get_by_role("link", name="Spacelift administration page").click()
        expect(page.get_by_test_id("settings-source")).to_contain_text("not configured")
        fill(page, host_of(server), SECOND_KEY, SECOND_SECRET)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url("**/administration/spacelift/?done=saved")
        page.goto(f"{env.url}/spacelift/")
        expect(stack_rows(page)).to_have_count(5)
        assert row_ids(page) == {s.id for s in world.all_stacks()}
