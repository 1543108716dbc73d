"""Run actions through the API against the simulator: the permission matrix, the states each
action needs (409 naming the state otherwise), what they do to the simulator's runs, the note
that names the portal user, read-only mode, and the per-user `actions` of runs."""

from __future__ import annotations

import pytest
from spacelift_backend_support import (
    API,
    AUTH,
    TEAM,
    backend_app,
    run_state,
    running_sim,
    signed_in,
)

from spacelift_backend.service import SpaceliftService
from spacelift_sim import DEFAULT_KEY_ID
from spacelift_sim.testing import run_in_state

UNKNOWN_ULID = "01AAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def sim():
    with running_sim(stacks=6, seed=3) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_fault(sim):
    yield
    sim.fault("none")


@pytest.fixture(scope="module")
def app(sim):
    # A long cache window: answers after an action must come from invalidation, not expiry.
    return backend_app(sim, TEAM, cacheTtlSeconds=60)


@pytest.fixture(scope="module")
def people(app):
    clients = {name: signed_in(app, name) for name in ("vic", "tara", "ada")}
    clients["ci"] = app.test_client()  # the static token: see call()
    return clients


def call(client, method: str, url: str, **kwargs):
    """A request as the client's principal: the CSRF header for sessions, the token for "ci"."""
    headers = {"X-CSRF-Token": client.csrf} if hasattr(client, "csrf") else dict(AUTH)
    return client.open(API + url, method=method, headers=headers, **kwargs)


# -- the permission matrix ---------------------------------------------------------------------

# The state each action needs, so that a permitted call gets its 200 (not a 409).
NEEDS = {"confirm": "UNCONFIRMED", "discard": "UNCONFIRMED", "cancel": "QUEUED", "retry": "FAILED"}
ACTIONS = ("read", "trigger", "confirm", "discard", "cancel", "retry", "admin settings")
# The built-in policy with TEAM's config: rules exist, so users keep reading and need a rule
# for the rest; tara's rule allows triggering; ada is an admin; the "ci" token only reads.
ALLOWED = {
    "vic": {"read"},
    "tara": {"read", "trigger"},
    "ada": set(ACTIONS),
    "ci": {"read"},
}


def attempt(sim, client, action: str) -> list[int]:
    """Take `action` as the client; the statuses of its requests."""
    if action == "read":
        stack_id, run_id = run_in_state(sim.world, "FINISHED")
        return [call(client, "GET", f"/stacks/{stack_id}").status_code,
                call(client, "GET", f"/stacks/{stack_id}/runs/{run_id}").status_code]  # fmt: skip
    if action == "trigger":
        stack_id, _run = run_in_state(sim.world, "FINISHED")
        return [call(client, "POST", f"/stacks/{stack_id}/trigger").status_code]
    if action == "admin settings":
        current = call(client, "GET", "/admin/settings")
        body = {"hostUrl": sim.host_url, "apiKey": DEFAULT_KEY_ID, "apiSecret": ""}
        saved = call(client, "PUT", "/admin/settings", json=body)
        return [current.status_code, saved.status_code]
    stack_id, run_id = run_in_state(sim.world, NEEDS[action])
    return [call(client, "POST", f"/stacks/{stack_id}/runs/{run_id}/{action}").status_code]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_permission_matrix(sim, people, who, action):
    expected = 200 if action in ALLOWED[who] else 403
    statuses = attempt(sim, people[who], action)
    assert statuses == [expected] * len(statuses), (who, action, statuses)


def test_a_refused_action_never_reaches_spacelift(sim, people):
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    sim.reset_stats()
    for who in ("vic", "tara", "ci"):
        response = call(people[who], "POST", f"/stacks/{stack_id}/runs/{run_id}/confirm")
        assert response.status_code == 403
        error = response.get_json()["error"]
        assert error == {"code": "forbidden",
                         "message": "you are not allowed to take the action spacelift.run.confirm"}
    assert sim.stats()["requests"] == 0
    assert run_state(sim.world, stack_id, run_id) == "UNCONFIRMED"


# -- what the actions do -------------------------------------------------------------------------


def test_confirm_from_unconfirmed_takes_the_run_to_finished(sim, people):
    ada = people["ada"]
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    before = call(ada, "GET", f"/stacks/{stack_id}/runs/{run_id}").get_json()
    assert before["state"] == "UNCONFIRMED" and before["actions"] == ["confirm", "discard"]
    response = call(ada, "POST", f"/stacks/{stack_id}/runs/{run_id}/confirm")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"id": run_id, "state": "CONFIRMED",
                                   "url": f"{sim.url}/stack/{stack_id}/run/{run_id}"}  # fmt: skip
    # The cached run (60 s window) was invalidated: the next read shows the new state.
    after = call(ada, "GET", f"/stacks/{stack_id}/runs/{run_id}").get_json()
    assert after["state"] == "CONFIRMED" and after["actions"] == []
    listed = call(ada, "GET", f"/stacks/{stack_id}/runs").get_json()["items"]
    assert next(r for r in listed if r["id"] == run_id)["state"] == "CONFIRMED"
    sim.tick(4)  # CONFIRMED -> PREPARING_APPLY -> APPLYING -> FINISHED
    assert run_state(sim.world, stack_id, run_id) == "FINISHED"
    # Spacelift's own history names the portal user.
    confirmed = next(h for h in sim.world.run(sim.world.stack(stack_id), run_id).history
                     if h.state == "CONFIRMED")  # fmt: skip
    assert confirmed.note == "via Greenroom by Ada Admin (ada)"
    assert confirmed.username == "sim-api-key"  # Spacelift's user is the API key


@pytest.mark.parametrize("state", ["UNCONFIRMED", "QUEUED", "READY"])
def test_discard_makes_it_discarded(sim, people, state):
    stack_id, run_id = run_in_state(sim.world, state)
    response = call(people["ada"], "POST", f"/stacks/{stack_id}/runs/{run_id}/discard")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "DISCARDED"
    assert run_state(sim.world, stack_id, run_id) == "DISCARDED"
    note = sim.world.run(sim.world.stack(stack_id), run_id).history[0].note
    assert note == "via Greenroom by Ada Admin (ada)"


def test_cancel_a_queued_run_and_retry_a_failed_one(sim, people):
    ada = people["ada"]
    stack_id, run_id = run_in_state(sim.world, "QUEUED")
    canceled = call(ada, "POST", f"/stacks/{stack_id}/runs/{run_id}/cancel")
    assert canceled.status_code == 200 and canceled.get_json()["state"] == "CANCELED"
    assert run_state(sim.world, stack_id, run_id) == "CANCELED"

    stack_id, run_id = run_in_state(sim.world, "FAILED")
    failed = call(ada, "GET", f"/stacks/{stack_id}/runs/{run_id}").get_json()
    assert failed["actions"] == ["retry"]
    retried = call(ada, "POST", f"/stacks/{stack_id}/runs/{run_id}/retry")
    assert retried.status_code == 200, retried.get_json()
    new = retried.get_json()
    assert new["id"] != run_id and new["state"] == "QUEUED"
    assert new["url"] == f"{sim.url}/stack/{stack_id}/run/{new['id']}"
    run = sim.world.run(sim.world.stack(stack_id), new["id"])
    assert run is not None and run.type == "TRACKED" and run.triggered_by == "sim-api-key"
    # The list (cached for 60 s) shows the new run at once.
    listed = call(ada, "GET", f"/stacks/{stack_id}/runs").get_json()["items"]
    assert listed[0]["id"] == new["id"]
    assert run_state(sim.world, stack_id, run_id) == "FAILED"  # the old run stays as it was


# -- wrong states, unknown runs ------------------------------------------------------------------

WRONG = [
    ("confirm", "FINISHED", "is FINISHED; confirm needs UNCONFIRMED"),
    ("confirm", "QUEUED", "is QUEUED; confirm needs UNCONFIRMED"),
    ("discard", "FAILED", "is FAILED; discard needs QUEUED, READY or UNCONFIRMED"),
    ("cancel", "UNCONFIRMED", "is UNCONFIRMED; cancel needs QUEUED or READY"),
    ("retry", "UNCONFIRMED", "is UNCONFIRMED; retry needs a finished run (CANCELED, DISCARDED, "
                             "FAILED, FINISHED, SKIPPED or STOPPED)"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "state", "message"), WRONG)
def test_an_action_from_a_wrong_state_is_a_409_naming_the_state(sim, people, action, state, message):
    stack_id, run_id = run_in_state(sim.world, state)
    sim.reset_stats()
    response = call(people["ada"], "POST", f"/stacks/{stack_id}/runs/{run_id}/{action}")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "spacelift_conflict"
    assert error["message"] == f"run {run_id} {message}"
    assert error["state"] == state and error["hint"].startswith("The run's state does not allow")
    mutation = {"confirm": "runConfirm", "discard": "runDiscard", "cancel": "runCancel",
                "retry": "runRetry"}[action]  # fmt: skip
    assert sim.op(mutation) == 0  # refused before the mutation was sent
    assert run_state(sim.world, stack_id, run_id) == state


def test_a_run_that_moved_on_since_we_read_it_is_a_409_too(sim, people, monkeypatch):
    """Spacelift refuses the mutation because someone acted first: we read the run again and
    answer the same 409 as when we see it first."""
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    real = SpaceliftService.run_state
    seen = []

    def stale_first(self, stack, run):
        answer = real(self, stack, run)
        if not seen:  # our first read: someone confirms right after it
            seen.append(answer)
            sim.world.confirm_run(stack_id, run_id, "bob", "from Spacelift's UI")
        return answer

    monkeypatch.setattr(SpaceliftService, "run_state", stale_first)
    sim.reset_stats()
    response = call(people["ada"], "POST", f"/stacks/{stack_id}/runs/{run_id}/discard")
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["message"] == (
        f"run {run_id} is CONFIRMED; discard needs QUEUED, READY or UNCONFIRMED")
    assert sim.op("runDiscard") == 1  # Spacelift was asked, and refused


def test_unknown_runs_and_stacks_are_404_and_bad_ids_422(sim, people):
    ada = people["ada"]
    stack_id, _run = run_in_state(sim.world, "FINISHED")
    for url in (f"/stacks/{stack_id}/runs/{UNKNOWN_ULID}/confirm", f"/stacks/no-such-stack/runs/{UNKNOWN_ULID}/retry"):
        response = call(ada, "POST", url)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    bad = call(ada, "POST", f"/stacks/{stack_id}/runs/not-a-run/cancel")
    assert bad.status_code == 422 and bad.get_json()["error"]["parameter"] == "runId"


def test_actions_need_csrf_with_a_cookie_session(sim, people):
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    response = people["ada"].post(f"{API}/stacks/{stack_id}/runs/{run_id}/confirm")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "csrf_failed"
    assert run_state(sim.world, stack_id, run_id) == "UNCONFIRMED"


# -- read-only mode and the per-user actions -----------------------------------------------------


def test_read_only_refuses_every_action_and_offers_none(sim):
    app = backend_app(sim, TEAM, readOnly=True)
    ada = signed_in(app, "ada")
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    assert call(ada, "GET", f"/stacks/{stack_id}/runs/{run_id}").get_json()["actions"] == []
    assert all(r["actions"] == [] for r in call(ada, "GET", f"/stacks/{stack_id}/runs").get_json()["items"])
    sim.reset_stats()
    for action in ("confirm", "discard", "cancel", "retry"):
        response = call(ada, "POST", f"/stacks/{stack_id}/runs/{run_id}/{action}")
        assert response.status_code == 403, action
        assert response.get_json()["error"]["code"] == "spacelift_read_only"
    assert sim.stats()["requests"] == 0
    # The permission comes first: a viewer hears "forbidden", not "read-only".
    vic = signed_in(app, "vic")
    assert call(vic, "POST", f"/stacks/{stack_id}/runs/{run_id}/confirm").get_json()["error"]["code"] == "forbidden"


def test_actions_are_per_user_and_never_cached_for_the_next_one(sim, people):
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    url = f"/stacks/{stack_id}/runs/{run_id}"
    sim.reset_stats()
    seen = {who: call(people[who], "GET", url).get_json() for who in ("ada", "vic", "tara", "ci")}
    assert sim.op("stack") == 1  # one upstream read, shared by all four
    assert seen["ada"]["actions"] == ["confirm", "discard"]
    assert seen["vic"]["actions"] == seen["tara"]["actions"] == seen["ci"]["actions"] == []
    assert call(people["ada"], "GET", url).get_json()["actions"] == ["confirm", "discard"]
    runs = {who: call(people[who], "GET", f"/stacks/{stack_id}/runs").get_json()["items"]
            for who in ("vic", "ada")}  # fmt: skip
    assert runs["vic"][0]["actions"] == [] and runs["ada"][0]["actions"] == ["confirm", "discard"]


def test_a_policy_plugin_decides_per_action():
    """The `permission_allowed` hook may allow some run actions and not others: `actions`
    follows it, and the routes enforce it."""
    from host import hookimpl

    class OnlyCancel:
        __name__ = "only-cancel"

        @hookimpl
        def permission_allowed(self, principal, action, resource):
            if action.startswith("spacelift.run.") and principal and principal.name == "vic":
                return action == "spacelift.run.cancel" and resource.get("runId") is not None
            return None

    with running_sim(stacks=2, seed=5) as sim:
        app = backend_app(sim, TEAM)
        app.extensions["greenroom"].pm.register(OnlyCancel(), name="only-cancel")
        vic = signed_in(app, "vic")
        stack_id, run_id = run_in_state(sim.world, "QUEUED")
        assert call(vic, "GET", f"/stacks/{stack_id}/runs/{run_id}").get_json()["actions"] == ["cancel"]
        assert call(vic, "POST", f"/stacks/{stack_id}/runs/{run_id}/discard").status_code == 403
        assert call(vic, "POST", f"/stacks/{stack_id}/runs/{run_id}/cancel").status_code == 200
