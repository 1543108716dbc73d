"""The Spacelift pages without JavaScript: buttons only where the state and the user allow, the
confirmation pages with their forms (CSRF, the delta and the commit), the failure message, and
"configured" decided by the backend."""

from __future__ import annotations

import re

import pytest
from spacelift_backend_support import TEAM, run_state, running_sim, signed_in

import spacelift_backend.plugin as backend_plugin
import spacelift_frontend.plugin as frontend_plugin
from host.testing import csrf_from, deep_merge, make_app
from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET
from spacelift_sim.testing import run_in_state


@pytest.fixture(scope="module")
def sim():
    with running_sim(stacks=4, seed=12) as running:
        yield running


@pytest.fixture(scope="module")
def app(sim):
    block = {"spacelift": {"hostUrl": sim.host_url, "apiKey": DEFAULT_KEY_ID,
                           "apiSecret": DEFAULT_KEY_SECRET, "cacheTtlSeconds": 0.1}}  # fmt: skip
    return make_app(deep_merge(TEAM, block), plugins=[backend_plugin, frontend_plugin])


@pytest.fixture(scope="module")
def people(app):
    return {name: signed_in(app, name) for name in ("vic", "tara", "ada")}


def buttons(html: str) -> list[str]:
    return re.findall(r'data-run-action="(\w+)"', html)


def test_buttons_show_only_where_the_state_and_the_user_allow(sim, people):
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    run_page = f"/spacelift/stacks/{stack_id}/runs/{run_id}"
    stack_page = f"/spacelift/stacks/{stack_id}"
    ada = people["ada"].get(run_page).get_data(as_text=True)
    assert buttons(ada) == ["confirm", "discard"]
    assert f'href="{run_page}/confirm"' in ada and f'data-action-api="/api/spacelift/stacks/{stack_id}/runs/{run_id}/confirm"' in ada
    assert buttons(people["ada"].get(stack_page).get_data(as_text=True)) == ["confirm", "discard"]
    for who in ("vic", "tara"):
        for url in (run_page, stack_page):
            assert buttons(people[who].get(url).get_data(as_text=True)) == [], (who, url)
    # tara may trigger, vic may not
    assert "Trigger run" in people["tara"].get(stack_page).get_data(as_text=True)
    assert "Trigger run" not in people["vic"].get(stack_page).get_data(as_text=True)
    # The live fragment carries the same buttons, so they follow the run's state.
    fragment = people["ada"].get(f"/spacelift/fragments/stacks/{stack_id}/runs/{run_id}")
    assert buttons(fragment.get_data(as_text=True)) == ["confirm", "discard"]


def test_the_confirmation_page_shows_the_delta_and_the_commit_and_posts_the_form(sim, people):
    ada = people["ada"]
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    run = sim.world.run(sim.world.stack(stack_id), run_id)
    url = f"/spacelift/stacks/{stack_id}/runs/{run_id}/confirm"
    page = ada.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Confirm this run?</h1>" in html
    delta = f"+{run.delta.add_count} ~{run.delta.change_count} -{run.delta.delete_count}"
    assert f'<dd class="delta">{delta}</dd>' in html
    assert run.commit.hash[:7] in html and "Spacelift applies the planned changes" in html
    # Without the form's CSRF token the host refuses the post.
    assert ada.post(url).status_code == 400
    assert run_state(sim.world, stack_id, run_id) == "UNCONFIRMED"
    done = ada.post(url, data={"csrf_token": csrf_from(html)})
    assert done.status_code == 302
    assert done.headers["Location"] == f"/spacelift/stacks/{stack_id}/runs/{run_id}?done=confirm"
    assert run_state(sim.world, stack_id, run_id) == "CONFIRMED"
    after = ada.get(done.headers["Location"]).get_data(as_text=True)
    assert "Run confirmed: Spacelift applies its plan now." in after
    assert buttons(after) == []


def test_retry_leads_to_the_new_run_and_a_refusal_says_why(sim, people):
    ada, vic = people["ada"], people["vic"]
    stack_id, run_id = run_in_state(sim.world, "FAILED")
    url = f"/spacelift/stacks/{stack_id}/runs/{run_id}/retry"
    csrf = csrf_from(ada.get(url).get_data(as_text=True))
    done = ada.post(url, data={"csrf_token": csrf})
    new_id = done.headers["Location"].split("/runs/")[1].split("?")[0]
    assert new_id != run_id and sim.world.run(sim.world.stack(stack_id), new_id) is not None
    # Not offered to a viewer: the page says so and has no form; posting anyway is refused.
    page = vic.get(url)
    assert page.status_code == 409 and "You cannot retry this run now" in page.get_data(as_text=True)
    assert "<form method=\"post\">" not in page.get_data(as_text=True)
    refused = vic.post(url, data={"csrf_token": vic.csrf})
    assert refused.status_code == 403
    assert ("Spacelift action failed: you are not allowed to take the action spacelift.run.retry"
            in refused.get_data(as_text=True))  # fmt: skip
    # A wrong state: the backend's 409 message.
    wrong = ada.post(f"/spacelift/stacks/{stack_id}/runs/{run_id}/cancel", data={"csrf_token": csrf})
    assert wrong.status_code == 409
    assert f"Spacelift action failed: run {run_id} is FAILED; cancel needs QUEUED or READY" in wrong.get_data(as_text=True)


def test_configured_is_the_backends_word(sim, tmp_path):
    """No spacelift block: the pages explain; a connection saved by an admin makes them work,
    without a restart (the frontend no longer reads the block itself)."""
    app = make_app(deep_merge(TEAM, {"backend": {"database": {"connection": f"sqlite:///{tmp_path}/c.sqlite3"}}}),
                   plugins=[backend_plugin, frontend_plugin])  # fmt: skip
    ada = signed_in(app, "ada")
    page = ada.get("/spacelift/")
    assert page.status_code == 503 and "Spacelift is not configured yet" in page.get_data(as_text=True)
    assert 'href="/administration/spacelift"' in page.get_data(as_text=True)  # for admins
    saved = ada.put("/api/spacelift/admin/settings", headers={"X-CSRF-Token": ada.csrf},
                    json={"hostUrl": sim.host_url, "apiKey": DEFAULT_KEY_ID, "apiSecret": DEFAULT_KEY_SECRET})  # fmt: skip
    assert saved.status_code == 200
    page = ada.get("/spacelift/")
    assert page.status_code == 200 and "Spacelift Stacks" in page.get_data(as_text=True)
