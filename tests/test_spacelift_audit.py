"""The audit trail, on SQLite and on PostgreSQL: a row per action with the user and the result
(refusals too), Spacelift's note naming the portal user, the admin-only API with filters, the
page, and no action taken when the trail cannot be written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from spacelift_backend_support import (
    API,
    AUTH,
    TEAM,
    backend_app,
    fresh_database,
    run_state,
    running_sim,
    signed_in,
)

import spacelift_backend.plugin as backend_plugin
import spacelift_frontend.plugin as frontend_plugin
from host.testing import deep_merge, make_app
from spacelift_sim.testing import run_in_state

UNKNOWN_ULID = "01AAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def sim():
    with running_sim(stacks=4, seed=8) as running:
        yield running


@pytest.fixture
def db(database_url):
    with fresh_database(database_url) as url:
        yield url


def app_on(sim, url: str, **spacelift):
    return backend_app(sim, deep_merge(TEAM, {"backend": {"database": {"connection": url}}}), **spacelift)


def post(client, url: str):
    return client.post(API + url, headers={"X-CSRF-Token": client.csrf})


def rows(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT * FROM spacelift_audit ORDER BY id")).mappings().all()
            return [dict(r) for r in found]
    finally:
        engine.dispose()


def test_each_action_writes_a_row_with_the_user_and_the_result(sim, db):
    app = app_on(sim, db)
    ada, vic = signed_in(app, "ada"), signed_in(app, "vic")
    world = sim.world

    confirm_stack, confirm_run = run_in_state(world, "UNCONFIRMED")
    assert post(ada, f"/stacks/{confirm_stack}/runs/{confirm_run}/confirm").status_code == 200
    assert post(vic, f"/stacks/{confirm_stack}/runs/{confirm_run}/discard").status_code == 403
    assert post(ada, f"/stacks/{confirm_stack}/runs/{confirm_run}/cancel").status_code == 409
    discard_stack, discard_run = run_in_state(world, "UNCONFIRMED")
    assert post(ada, f"/stacks/{discard_stack}/runs/{discard_run}/discard").status_code == 200
    cancel_stack, cancel_run = run_in_state(world, "QUEUED")
    assert post(ada, f"/stacks/{cancel_stack}/runs/{cancel_run}/cancel").status_code == 200
    retry_stack, retry_run = run_in_state(world, "FAILED")
    retried = post(ada, f"/stacks/{retry_stack}/runs/{retry_run}/retry").get_json()["id"]
    triggered = post(ada, f"/stacks/{retry_stack}/trigger").get_json()["id"]
    assert post(vic, f"/stacks/{retry_stack}/trigger").status_code == 403
    assert post(ada, f"/stacks/{retry_stack}/runs/{UNKNOWN_ULID}/confirm").status_code == 404

    found = [(r["principal"], r["action"], r["stack"], r["run"], r["result"], r["spacelift_run"])
             for r in rows(db)]  # fmt: skip
    assert found == [
        ("user:ada", "confirm", confirm_stack, confirm_run, "ok", confirm_run),
        ("user:vic", "discard", confirm_stack, confirm_run, "denied", None),
        ("user:ada", "cancel", confirm_stack, confirm_run, "conflict", None),
        ("user:ada", "discard", discard_stack, discard_run, "ok", discard_run),
        ("user:ada", "cancel", cancel_stack, cancel_run, "ok", cancel_run),
        ("user:ada", "retry", retry_stack, retry_run, "ok", retried),
        ("user:ada", "trigger", retry_stack, None, "ok", triggered),
        ("user:vic", "trigger", retry_stack, None, "denied", None),
        ("user:ada", "confirm", retry_stack, UNKNOWN_ULID, "not_found", None),
    ]
    details = [r["detail"] for r in rows(db)]
    assert details[0] == "run is CONFIRMED"
    assert details[1] == "you are not allowed to take the action spacelift.run.discard"
    assert details[2] == f"run {confirm_run} is CONFIRMED; cancel needs QUEUED or READY"
    assert all(r["time"] is not None for r in rows(db))

    # Spacelift's own history says who acted, for every action that takes a note (the
    # confirmed run has moved on since: later set-ups ticked the world).
    assert run_state(world, discard_stack, discard_run) == "DISCARDED"
    assert run_state(world, cancel_stack, cancel_run) == "CANCELED"
    for stack_id, run_id, state in ((confirm_stack, confirm_run, "CONFIRMED"),
                                    (discard_stack, discard_run, "DISCARDED"),
                                    (cancel_stack, cancel_run, "CANCELED")):  # fmt: skip
        step = next(h for h in world.run(world.stack(stack_id), run_id).history if h.state == state)
        assert step.note == "via Greenroom by Ada Admin (ada)"


def test_the_audit_api_filters_pages_and_is_for_admins(sim, db):
    app = app_on(sim, db)
    ada, vic, tara = signed_in(app, "ada"), signed_in(app, "vic"), signed_in(app, "tara")
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    post(vic, f"/stacks/{stack_id}/runs/{run_id}/confirm")
    post(tara, f"/stacks/{stack_id}/trigger")
    post(ada, f"/stacks/{stack_id}/runs/{run_id}/confirm")
    post(ada, f"/stacks/{stack_id}/runs/{run_id}/confirm")  # now a conflict

    def audit(query: str = "") -> dict:
        response = ada.get(f"{API}/audit{query}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    everything = audit()
    assert everything["total"] == 4 and everything["page"] == 1
    assert [e["user"] for e in everything["items"]] == ["user:ada", "user:ada", "user:tara", "user:vic"]
    newest = everything["items"][0]
    assert newest["action"] == "confirm" and newest["result"] == "conflict"
    assert newest["time"].endswith("Z") and newest["stack"] == stack_id and newest["run"] == run_id
    assert [e["result"] for e in audit("?user=ada")["items"]] == ["conflict", "ok"]
    assert audit("?user=user:vic")["items"][0]["result"] == "denied"
    assert audit("?action=trigger")["items"][0]["spaceliftRun"] is not None
    assert audit("?result=denied")["total"] == 1
    assert audit(f"?stack={stack_id}&action=confirm&result=ok")["total"] == 1
    assert audit("?stack=other")["total"] == 0
    first, second = audit("?perPage=3"), audit("?perPage=3&page=2")
    assert len(first["items"]) == 3 and [e["user"] for e in second["items"]] == ["user:vic"]
    assert ada.get(f"{API}/audit?action=launch").status_code == 422
    for client in (vic, tara):
        assert client.get(f"{API}/audit").status_code == 403
    assert app.test_client().get(f"{API}/audit", headers=AUTH).status_code == 403  # a token


def test_no_action_is_taken_when_the_audit_trail_cannot_be_written(sim, db):
    app = app_on(sim, db)
    ada = signed_in(app, "ada")
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE spacelift_audit"))
    engine.dispose()
    sim.reset_stats()
    response = post(ada, f"/stacks/{stack_id}/runs/{run_id}/confirm")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "audit_unavailable"
    assert sim.op("runConfirm") == 0 and run_state(sim.world, stack_id, run_id) == "UNCONFIRMED"
    assert post(ada, f"/stacks/{stack_id}/trigger").status_code == 503
    assert sim.op("runTrigger") == 0
    assert ada.get(f"{API}/audit").status_code == 503  # and the trail says it cannot be read


def test_the_audit_page_is_for_admins_with_filters_in_the_url(sim, tmp_path):
    config = deep_merge(TEAM, {"spacelift": {"hostUrl": sim.host_url,
                                             "apiKey": sim.world.tokens.key_id, "apiSecret": "sim-secret"}})  # fmt: skip
    app = make_app(config, plugins=[backend_plugin, frontend_plugin])
    ada, vic = signed_in(app, "ada"), signed_in(app, "vic")
    stack_id, run_id = run_in_state(sim.world, "UNCONFIRMED")
    post(vic, f"/stacks/{stack_id}/runs/{run_id}/discard")
    post(ada, f"/stacks/{stack_id}/runs/{run_id}/discard")
    page = ada.get("/spacelift/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("data-audit-id=") == 2
    assert 'data-result="denied"' in html and 'data-result="ok"' in html and "<td>user:vic</td>" in html
    filtered = ada.get("/spacelift/audit?user=vic&action=discard").get_data(as_text=True)
    assert filtered.count("data-audit-id=") == 1 and "<td>user:ada</td>" not in filtered
    assert '<option value="discard" selected>' in filtered and 'value="vic"' in filtered
    assert vic.get("/spacelift/audit").status_code == 403
    # The overview links it, for admins only.
    assert 'href="/spacelift/audit"' in ada.get("/spacelift/").get_data(as_text=True)
    assert 'href="/spacelift/audit"' not in vic.get("/spacelift/").get_data(as_text=True)
