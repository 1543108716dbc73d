"""Every route of /api/spacelift against the simulator: credentials, shapes, filters, paging,
permissions, read-only mode, and answers checked against the simulated account itself."""

from __future__ import annotations

import statistics
import time
from urllib.parse import quote

import pytest
from spacelift_backend_support import (
    API,
    AUTH,
    STATIC_TOKEN_CONFIG,
    backend_app,
    spacelift_block,
    spacelift_plugin,
)

from host import hookimpl
from host.testing import deep_merge, make_app, sign_in
from spacelift_backend.listing import RECENT_RUNS
from spacelift_backend.model import CATEGORIES, category

OFFICIAL_FIELDS = ("id", "name", "description", "labels", "state", "branch", "spaceDetails")
UNKNOWN_ULID = "01AAAAAAAAAAAAAAAAAAAAAAAA"


pytestmark = pytest.mark.usefixtures("fresh_sim")


@pytest.fixture
def app(sim):
    return backend_app(sim, cacheTtlSeconds=0.1)


@pytest.fixture
def client(app):
    return app.test_client()


def get(client, url: str, status: int = 200) -> dict:
    response = client.get(API + url, headers=AUTH)
    assert response.status_code == status, (url, response.get_json())
    return response.get_json()


def all_items(client, query: str = "") -> list[dict]:
    return get(client, f"/stacks?perPage=100{query}")["items"]


# -- credentials -------------------------------------------------------------------------------


def test_every_route_but_health_needs_credentials(app, sim):
    stack = sim.world.all_stacks()[0]
    run = sim.world.runs_of(stack)[-1]
    values = {"stack_id": stack.id, "run_id": run.id}
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{name}>", values[name])
        for method in sorted((rule.methods or set()) & {"GET", "POST", "PUT", "DELETE"}):
            response = client.open(url, method=method)
            if rule.rule == f"{API}/health":
                assert response.status_code == 200 and response.get_json() == {"status": "ok"}
            else:
                assert response.status_code == 401, url
                assert response.get_json()["error"]["code"] == "unauthorized"
            checked += 1
    assert checked == 18  # reads, trigger, 4 run actions, 4 admin methods and the audit
    assert sim.stats()["requests"] == 0  # refused before anything reached Spacelift


class DenyReading:
    """A permission policy plugin that refuses spacelift.stack.read to everyone."""

    @hookimpl
    def permission_allowed(self, action: str) -> bool | None:
        return False if action == "spacelift.stack.read" else None


def test_a_caller_without_the_read_permission_is_refused(sim):
    config = deep_merge(STATIC_TOKEN_CONFIG, {"spacelift": spacelift_block(sim)})
    app = make_app(config, plugins=[spacelift_plugin, DenyReading()])
    client = app.test_client()
    sign_in(client)
    stack_id = sim.world.all_stacks()[0].id
    urls = ("/stacks", "/summary", "/status", f"/stacks/{stack_id}", f"/stacks/{stack_id}/runs")
    for url in urls:
        for headers in ({}, AUTH):  # the signed-in admin, then the service token
            response = client.get(API + url, headers=headers)
            assert response.status_code == 403, url
            assert response.get_json()["error"]["code"] == "forbidden"
    assert sim.stats()["requests"] == 0


# -- /stacks -----------------------------------------------------------------------------------


def test_items_keep_the_official_fields_and_add_ours(client, sim):
    items = {i["id"]: i for i in all_items(client)}
    world = {s.id: s for s in sim.world.all_stacks()}
    assert set(items) == set(world)
    for stack_id, stack in world.items():
        item = items[stack_id]
        assert list(item)[: len(OFFICIAL_FIELDS)] == list(OFFICIAL_FIELDS)
        space = sim.world.spaces[stack.space]
        assert (item["name"], item["description"], item["labels"], item["state"], item["branch"]) == (
            stack.name, stack.description, stack.labels, stack.state, stack.branch)  # fmt: skip
        assert item["spaceDetails"] == {"id": space.id, "name": space.name}
        assert item["url"] == f"{sim.url}/stack/{stack_id}"
        assert item["spaceUrl"] == f"{sim.url}/spaces/{space.id}"  # by id, not by name
        assert item["stateCategory"] == category(stack.state)
        assert item["vendor"] == stack.vendor.typename.removeprefix("StackConfigVendor")
        assert item["lockedBy"] == stack.locked_by and item["isDisabled"] == stack.is_disabled
        assert (item["repository"], item["namespace"], item["provider"], item["stateSetAt"]) == (
            stack.repository, stack.namespace, stack.provider, stack.state_set_at)  # fmt: skip
        tracked = item["trackedCommit"]
        if stack.tracked_commit is None:
            assert tracked is None
        else:
            assert set(tracked) == {"hash", "message", "authorName", "timestamp", "url"}
            assert tracked["hash"] == stack.tracked_commit.hash


def test_filters_by_state_and_category(client, sim):
    sim.upsert(id="zz-failed", state="FAILED")
    world = sim.world.all_stacks()
    failed = get(client, "/stacks?state=FAILED")
    assert [i["id"] for i in failed["items"]] == ["zz-failed"] and failed["total"] == 1
    done = get(client, "/stacks?state=finished&perPage=100")
    assert {i["id"] for i in done["items"]} == {s.id for s in world if category(s.state) == "finished"}
    both = get(client, "/stacks?state=failed,UNCONFIRMED&perPage=100")
    assert {i["id"] for i in both["items"]} == {
        s.id for s in world if s.state in ("FAILED", "UNCONFIRMED")
    }
    # counts are facets: the same whatever the state filter, and they add up to everything
    counts = get(client, "/stacks")["counts"]
    assert failed["counts"] == counts == done["counts"]
    assert set(counts) == set(CATEGORIES) and sum(counts.values()) == len(world)
    assert counts["failed"] == 1


def test_filters_by_label_space_and_words(client, sim):
    world = sim.world.all_stacks()
    label = world[0].labels[0]
    other = world[0].labels[1]
    by_label = get(client, f"/stacks?label={quote(label)}&perPage=100")
    assert {i["id"] for i in by_label["items"]} == {s.id for s in world if label in s.labels}
    both = get(client, f"/stacks?label={quote(label)}&label={quote(other)}&perPage=100")
    assert {i["id"] for i in both["items"]} == {
        s.id for s in world if label in s.labels and other in s.labels
    }
    assert sum(both["counts"].values()) == both["total"]  # facets honour the label filter
    space = sim.world.spaces[world[0].space]
    expected = {s.id for s in world if s.space == space.id}
    assert {i["id"] for i in all_items(client, f"&space={space.id}")} == expected
    assert {i["id"] for i in all_items(client, f"&space={quote(space.name.upper())}")} == expected
    words = "prod eu"
    found = {i["id"] for i in all_items(client, f"&q={quote(words)}")}
    assert found and found == {
        s.id for s in world
        if all(w in " ".join([s.id, s.name, s.description or "", s.repository, s.branch, *s.labels]).lower()
               for w in words.split())
    }  # fmt: skip


def test_filters_by_lock(client, sim):
    world = sim.world.all_stacks()
    for stack in world[:3]:
        sim.upsert(id=stack.id, lockedBy="alice")
    locked = get(client, "/stacks?locked=true&perPage=100")
    assert {i["id"] for i in locked["items"]} == {s.id for s in world[:3]}
    assert all(i["lockedBy"] == "alice" for i in locked["items"])
    assert sum(locked["counts"].values()) == 3  # the counts honour the lock filter
    unlocked = get(client, "/stacks?locked=false&perPage=100")
    assert unlocked["total"] == len(world) - 3
    assert get(client, "/stacks?locked=yes", 422)["error"]["parameter"] == "locked"


def test_sorting_and_paging(client, sim):
    by_name = [i["id"] for i in all_items(client)]
    assert by_name == [s.id for s in sorted(sim.world.all_stacks(), key=lambda s: (s.name.lower(), s.id))]
    newest = all_items(client, "&sort=-stateSetAt")
    stamps = [i["stateSetAt"] for i in newest if i["stateSetAt"] is not None]
    assert stamps == sorted(stamps, reverse=True)
    assert [i["id"] for i in all_items(client, "&sort=-name")] == list(reversed(by_name))
    pages = [get(client, f"/stacks?perPage=7&page={n}") for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [20] * 4
    assert [len(p["items"]) for p in pages] == [7, 7, 6, 0]
    assert [i["id"] for p in pages for i in p["items"]] == by_name
    assert (pages[1]["page"], pages[1]["perPage"]) == (2, 7)
    assert get(client, "/stacks")["perPage"] == 20  # the official table's page size


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("page=0", "page"), ("page=two", "page"), ("perPage=101", "perPage"), ("perPage=-1", "perPage"),
     ("page=", "page"), ("sort=size", "sort"), ("sort=", "sort"), ("state=not%20a%20state", "state"),
     ("state=FAILED%0A", "state"), ("q=" + "x" * 201, "q"),
     ("label=" + "l" * 201, "label"), ("space=" + "s" * 201, "space")],
)  # fmt: skip
def test_a_bad_parameter_is_a_422_naming_it(client, sim, query, parameter):
    error = get(client, f"/stacks?{query}", 422)["error"]
    assert error["code"] == "invalid_parameter" and error["parameter"] == parameter
    assert error["message"].startswith(parameter + ":")


def test_an_unknown_state_passes_through_and_counts_as_other(client, sim):
    before = get(client, "/stacks")["counts"]
    sim.upsert(id="from-the-future", state="PENDING_QUANTUM_REVIEW", labels=["new"])
    time.sleep(0.15)  # past cacheTtlSeconds
    body = get(client, "/stacks?label=new")
    assert body["items"][0]["state"] == "PENDING_QUANTUM_REVIEW"
    assert body["items"][0]["stateCategory"] == "other"
    after = get(client, "/stacks")["counts"]
    assert after["other"] == before["other"] + 1
    assert get(client, "/stacks?state=PENDING_QUANTUM_REVIEW")["total"] == 1


# -- one stack, its runs, one run --------------------------------------------------------------


def newest_tracked(sim, stack):
    return [r for r in reversed(sim.world.runs_of(stack)) if r.type in ("TRACKED", "DESTROY")]


def test_a_stack_has_everything_its_page_needs(client, sim):
    blocked = next(s for s in sim.world.all_stacks() if sim.world.blocker(s) is not None)
    body = get(client, f"/stacks/{blocked.id}")
    assert body["blocked"] is True
    assert body["blocker"]["id"] == sim.world.blocker(blocked).id
    assert body["lastTrackedRun"]["id"] == newest_tracked(sim, blocked)[0].id
    assert body["configuration"]["autodeploy"] == blocked.autodeploy
    assert body["configuration"]["vendor"] == blocked.vendor.typename.removeprefix("StackConfigVendor")
    assert body["configuration"]["vendorConfig"] == {
        k: v for k, v in blocked.vendor.fields.items() if k in body["configuration"]["vendorConfig"]
    } and body["configuration"]["vendorConfig"]
    pool = sim.world.worker_pools.get(blocked.worker_pool) if blocked.worker_pool else None
    assert body["workerPool"] == (
        {"id": pool.id, "name": pool.name, "public": False} if pool
        else {"id": None, "name": "public worker pool", "public": True}
    )  # fmt: skip
    assert body["trackedCommit"]["hash"] == blocked.tracked_commit.hash
    assert body["stale"] is False and body["canTrigger"] is False  # a service token, no rule
    public = next(s for s in sim.world.all_stacks() if s.worker_pool is None)
    assert get(client, f"/stacks/{public.id}")["workerPool"]["public"] is True


def test_unknown_and_malformed_stack_ids(client):
    error = get(client, "/stacks/no-such-stack", 404)["error"]
    assert error["code"] == "not_found" and "no-such-stack" in error["message"]
    for url in ("/stacks/no-such-stack/runs", f"/stacks/no-such-stack/runs/{UNKNOWN_ULID}"):
        assert get(client, url, 404)["error"]["code"] == "not_found"
    bad = get(client, "/stacks/" + quote("bad id!"), 422)["error"]
    assert bad["parameter"] == "stackId"


def test_runs_are_paged_with_next_before(client, sim):
    stack = max(sim.world.all_stacks(), key=lambda s: len(newest_tracked(sim, s)))
    expected = [r.id for r in newest_tracked(sim, stack)]
    assert len(expected) > 20
    seen: list[str] = []
    before = None
    for _ in range(10):
        body = get(client, f"/stacks/{stack.id}/runs" + (f"?before={before}" if before else ""))
        assert body["type"] == "TRACKED"
        seen += [r["id"] for r in body["items"]]
        before = body["nextBefore"]
        if before is None:
            break
    assert seen == expected
    page = get(client, f"/stacks/{stack.id}/runs")["items"]
    first = page[0]
    run = sim.world.run(stack, first["id"])
    assert (first["state"], first["type"], first["title"], first["createdAt"], first["triggeredBy"]) == (
        run.state, run.type, run.title, run.created_at, run.triggered_by)  # fmt: skip
    assert first["commit"]["hash"] == run.commit.hash
    assert first["url"] == f"{sim.url}/stack/{stack.id}/run/{run.id}"
    done = next(r for r in page if r["finished"])
    assert done["duration"] == sim.world.run(stack, done["id"]).updated_at - done["createdAt"]


def test_proposed_runs_and_tasks(client, sim):
    stack = next(s for s in sim.world.all_stacks()
                 if any(r.type == "TASK" for r in sim.world.runs_of(s)))  # fmt: skip
    for run_type in ("PROPOSED", "TASK"):
        body = get(client, f"/stacks/{stack.id}/runs?type={run_type}")
        assert body["type"] == run_type
        assert [r["id"] for r in body["items"]] == [
            r.id for r in reversed(sim.world.runs_of(stack)) if r.type == run_type
        ][:20]
    assert get(client, f"/stacks/{stack.id}/runs?type=drift", 422)["error"]["parameter"] == "type"
    for query, parameter in (("type=task", "type"), ("before=nope", "before"), ("before=", "before")):
        assert get(client, f"/stacks/{stack.id}/runs?{query}", 422)["error"]["parameter"] == parameter


def test_a_run_with_its_history(client, sim):
    stack = next(s for s in sim.world.all_stacks() if s.state == "FINISHED")
    run = newest_tracked(sim, stack)[0]
    body = get(client, f"/stacks/{stack.id}/runs/{run.id}")
    assert body["id"] == run.id and body["stackId"] == stack.id and body["stackName"] == stack.name
    assert [h["state"] for h in body["history"]] == [t.state for t in run.history]
    assert body["history"][0]["terminal"] is True
    assert body["delta"] == (
        None if run.delta is None else {"addCount": run.delta.add_count,
        "changeCount": run.delta.change_count, "deleteCount": run.delta.delete_count,
        "resources": run.delta.resources})  # fmt: skip
    assert get(client, f"/stacks/{stack.id}/runs/{UNKNOWN_ULID}", 404)["error"]["code"] == "not_found"
    assert get(client, f"/stacks/{stack.id}/runs/short", 422)["error"]["parameter"] == "runId"


# -- /summary ----------------------------------------------------------------------------------


def test_summary_counts_attention_and_run_statistics(client, sim):
    sim.upsert(id="zz-failed", state="FAILED")
    locked = sim.world.all_stacks()[0]
    sim.upsert(id=locked.id, lockedBy="alice")
    world = sim.world.all_stacks()
    body = get(client, "/summary")
    assert body["total"] == len(world)
    assert body["counts"] == {c: sum(1 for s in world if category(s.state) == c) for c in CATEGORIES}
    attention = {a["id"]: a["reasons"] for a in body["needsAttention"]}
    assert attention["zz-failed"] == ["failed"]
    assert "locked" in attention[locked.id]
    assert {s for s, r in attention.items() if "unconfirmed" in r} == {
        s.id for s in world if s.state == "UNCONFIRMED"
    }
    # the documented rule, recomputed from the world: each stack's first page of tracked
    # runs, the newest RECENT_RUNS that ended FINISHED or FAILED
    recent = sorted(
        (r for s in world for r in newest_tracked(sim, s)[:20]
         if r.type == "TRACKED" and r.state in ("FINISHED", "FAILED")),
        key=lambda r: r.created_at, reverse=True,
    )[:RECENT_RUNS]  # fmt: skip
    succeeded = sum(1 for r in recent if r.state == "FINISHED")
    assert body["runs"]["considered"] == len(recent) > 0
    assert body["runs"]["succeeded"] == succeeded
    assert body["runs"]["successRate"] == round(succeeded / len(recent), 4)
    assert body["runs"]["medianDuration"] == statistics.median(r.updated_at - r.created_at for r in recent)


# -- trigger -----------------------------------------------------------------------------------


def triggerable(sim):
    return next(s for s in sim.world.all_stacks() if not s.locked_by and not s.is_disabled)


def test_trigger_starts_a_run_and_links_to_it(app, sim):
    client = app.test_client()
    csrf = sign_in(client)
    stack = triggerable(sim)
    response = client.post(f"{API}/stacks/{stack.id}/trigger", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "state", "url"} and body["state"] == "QUEUED"
    run = sim.world.run(stack, body["id"])
    assert run is not None and run.type == "TRACKED"
    assert body["url"] == f"{sim.url}/stack/{stack.id}/run/{body['id']}"
    assert client.get(f"{API}/stacks").get_json()["canTrigger"] is True


def test_trigger_needs_csrf_with_a_cookie_session(app, sim):
    client = app.test_client()
    sign_in(client)
    response = client.post(f"{API}/stacks/{triggerable(sim).id}/trigger")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "csrf_failed"
    assert sim.op("runTrigger") == 0


def test_trigger_needs_the_trigger_permission(sim):
    refused = backend_app(sim).test_client().post(
        f"{API}/stacks/{triggerable(sim).id}/trigger", headers=AUTH
    )
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert sim.op("runTrigger") == 0
    allowed = backend_app(sim, {"permission": {"rules": [
        {"subjects": ["ci"], "allow": ["spacelift.run.trigger", "spacelift.stack.read"]}]}})  # fmt: skip
    response = allowed.test_client().post(f"{API}/stacks/{triggerable(sim).id}/trigger", headers=AUTH)
    assert response.status_code == 200 and sim.op("runTrigger") == 1


def test_read_only_mode_refuses_the_trigger_before_calling_spacelift(sim):
    app = backend_app(sim, readOnly=True)
    client = app.test_client()
    csrf = sign_in(client)
    response = client.post(f"{API}/stacks/{triggerable(sim).id}/trigger", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "spacelift_read_only"
    assert sim.op("runTrigger") == 0
    assert client.get(f"{API}/stacks").get_json()["canTrigger"] is False
    assert client.get(f"{API}/status").get_json()["readOnly"] is True


def test_trigger_errors_from_spacelift(app, sim):
    client = app.test_client()
    csrf = sign_in(client)
    headers = {"X-CSRF-Token": csrf}
    missing = client.post(f"{API}/stacks/no-such-stack/trigger", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    locked, disabled = [s for s in sim.world.all_stacks() if not s.locked_by and not s.is_disabled][:2]
    sim.upsert(id=locked.id, lockedBy="alice")
    sim.upsert(id=disabled.id, isDisabled=True)
    for stack, reason in ((locked, "is locked by alice"), (disabled, "is disabled")):
        refused = client.post(f"{API}/stacks/{stack.id}/trigger", headers=headers)
        assert refused.status_code == 409
        error = refused.get_json()["error"]
        assert error["code"] == "spacelift_conflict" and error["hint"]
        assert error["message"].startswith(f"stack {stack.id!r} {reason} (Spacelift answered")
    # locked by the API key's own user: Spacelift lets it through
    sim.upsert(id=locked.id, lockedBy="sim-api-key")
    assert client.post(f"{API}/stacks/{locked.id}/trigger", headers=headers).status_code == 200
    # any other refusal stays a 502 with Spacelift's words
    sim.fault("graphql_error")
    failed = client.post(f"{API}/stacks/{locked.id}/trigger", headers=headers)
    assert failed.status_code == 502 and failed.get_json()["error"]["code"] == "spacelift_error"


# -- /status and /health -----------------------------------------------------------------------


def test_status_reports_the_connection(client, sim):
    body = get(client, "/status")
    assert body["configured"] is True and body["connected"] is True
    assert body["host"] == sim.host_url and body["url"] == sim.url
    assert body["readOnly"] is False and body["pollIntervalSeconds"] == 10
    assert body["lastSuccessAt"].endswith("Z") and body["tokenExpiresAt"] > body["lastSuccessAt"]
    assert body["lastError"] is None


def test_health_is_public_and_reveals_nothing(app):
    response = app.test_client().get(f"{API}/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
