"""The response cache: shared by every viewer, single flight per key, stale when Spacelift
fails (never replaced by an empty list), invalidated by a trigger."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from flask_caching.backends.simplecache import SimpleCache
from spacelift_backend_support import API, AUTH, backend_app, run_concurrently

from host import PluginCache
from host.testing import sign_in
from spacelift_backend.cache import ResponseCache
from spacelift_backend.errors import SpaceliftFailure

pytestmark = pytest.mark.usefixtures("fresh_sim")


def test_20_clients_polling_every_second_for_30_s_cost_at_most_7_stack_queries(sim):
    app = backend_app(sim, cacheTtlSeconds=5)
    stop = time.monotonic() + 30
    bad: list[int] = []
    answers = [0]
    lock = threading.Lock()

    def poll(i: int) -> None:
        client = app.test_client()
        time.sleep(i * 0.05)  # clients are not in lockstep
        while time.monotonic() < stop:
            started = time.monotonic()
            response = client.get(f"{API}/stacks", headers=AUTH)
            with lock:
                answers[0] += 1
                if response.status_code != 200 or len(response.get_json()["items"]) != 20:
                    bad.append(response.status_code)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    run_concurrently(20, poll)
    queries = sim.op("searchStacks") + sim.op("stacks")
    assert not bad
    assert answers[0] >= 20 * 28
    assert 5 <= queries <= 7, queries  # about one per 5 s window, never one per poll
    assert sim.op("apiKeyUser") == 1


def test_every_filter_combination_shares_one_upstream_query(sim):
    app = backend_app(sim, cacheTtlSeconds=30)
    client = app.test_client()
    urls = ["/stacks", "/stacks?state=FAILED", "/stacks?sort=-stateSetAt&perPage=5",
            "/stacks?q=prod&page=2", "/stacks?state=finished&label=critical", "/summary"]  # fmt: skip
    for url in urls:
        assert client.get(API + url, headers=AUTH).status_code == 200
    assert sim.op("searchStacks") == 2  # the list, and the summary's run statistics


def test_concurrent_requests_for_different_keys_fly_separately(sim):
    app = backend_app(sim)
    ids = [s.id for s in sim.world.all_stacks()[:3]]
    responses = run_concurrently(
        30, lambda i: app.test_client().get(f"{API}/stacks/{ids[i % 3]}", headers=AUTH)
    )
    assert all(r.status_code == 200 for r in responses)
    assert sim.op("stack") == 3 and sim.op("apiKeyUser") == 1


def test_a_failure_serves_the_last_good_answer_marked_stale(sim):
    app = backend_app(sim, cacheTtlSeconds=0.2)
    client = app.test_client()
    good = client.get(f"{API}/stacks?perPage=100", headers=AUTH).get_json()
    assert good["stale"] is False and "error" not in good
    sim.fault("down")
    time.sleep(0.25)
    stale = client.get(f"{API}/stacks?perPage=100", headers=AUTH)
    assert stale.status_code == 200
    body = stale.get_json()
    assert body["stale"] is True
    assert body["items"] == good["items"]
    assert body["fetchedAt"] == good["fetchedAt"]
    assert body["error"]["code"] == "spacelift_unreachable" and body["error"]["hint"]
    sim.fault("none")
    fresh = client.get(f"{API}/stacks?perPage=100", headers=AUTH).get_json()
    assert fresh["stale"] is False and fresh["fetchedAt"] > good["fetchedAt"]


def test_a_stale_list_is_never_replaced_by_an_empty_one(sim):
    """The key stops working (its secret changed in Spacelift): every answer Spacelift gives
    is anonymous or a refusal, and the last good list stays, marked stale."""
    app = backend_app(sim, cacheTtlSeconds=0.1)
    client = app.test_client()
    good = client.get(f"{API}/stacks?perPage=100", headers=AUTH).get_json()
    sim.world.tokens.key_secret = "rotated-secret"
    sim.fault("revoke_tokens")
    try:
        for _ in range(3):
            time.sleep(0.15)
            body = client.get(f"{API}/stacks?perPage=100", headers=AUTH).get_json()
            assert body["stale"] is True and body["total"] == 20
            assert body["items"] == good["items"]
            assert body["error"]["code"] == "spacelift_auth_failed"
    finally:
        sim.world.tokens.key_secret = "sim-secret"


def test_a_trigger_makes_the_new_run_show_at_once(sim):
    app = backend_app(sim, cacheTtlSeconds=300)
    client = app.test_client()
    csrf = sign_in(client)
    stack = next(s for s in sim.world.all_stacks() if s.state == "FINISHED" and not s.locked_by
                 and not s.is_disabled)  # fmt: skip
    before = client.get(f"{API}/stacks/{stack.id}").get_json()
    runs_before = client.get(f"{API}/stacks/{stack.id}/runs").get_json()
    listed = client.get(f"{API}/stacks?q={stack.id}").get_json()["items"]
    assert before["state"] == "FINISHED" and listed[0]["state"] == "FINISHED"
    run = client.post(f"{API}/stacks/{stack.id}/trigger", headers={"X-CSRF-Token": csrf}).get_json()
    sim.tick(1)  # QUEUED -> READY: the stack now mirrors the new run
    after = client.get(f"{API}/stacks/{stack.id}").get_json()
    listed = client.get(f"{API}/stacks?q={stack.id}").get_json()["items"]
    runs_after = client.get(f"{API}/stacks/{stack.id}/runs").get_json()
    assert after["state"] == "READY" and listed[0]["state"] == "READY"
    assert after["fetchedAt"] > before["fetchedAt"]
    assert runs_after["items"][0]["id"] == run["id"] != runs_before["items"][0]["id"]


# -- the cache on its own --------------------------------------------------------------------


def make_cache(ttl: float = 60) -> ResponseCache:
    plugin_cache = PluginCache(SimpleCache(threshold=1000, default_timeout=300), "plugin:test")
    return ResponseCache(plugin_cache, ttl, lock_wait=5, logger=logging.getLogger("test"))


def test_callers_queued_behind_a_failing_fetch_get_its_error_without_refetching():
    cache = make_cache()
    calls = []

    def failing() -> list[str]:
        calls.append(1)
        time.sleep(0.2)
        raise SpaceliftFailure("unreachable", "down")

    def ask(_: int) -> str:
        try:
            cache.get("stacks", None, failing)
        except SpaceliftFailure as exc:
            return exc.code
        return "no error"

    assert run_concurrently(10, ask) == ["spacelift_unreachable"] * 10
    assert len(calls) == 1
    # a caller arriving after the failure tries again (the fault may have cleared)
    answer = cache.get("stacks", None, lambda: ["a"])
    assert answer.data == ["a"] and not answer.stale and not answer.hit


def test_not_found_is_never_hidden_behind_stale_data():
    cache = make_cache(ttl=0.01)
    cache.get("stack", {"id": "x"}, lambda: {"id": "x"})
    time.sleep(0.02)
    with pytest.raises(SpaceliftFailure) as caught:
        cache.get("stack", {"id": "x"}, lambda: (_ for _ in ()).throw(SpaceliftFailure("not_found", "gone")))
    assert caught.value.status == 404


def test_hits_and_invalidation():
    cache = make_cache()
    first = cache.get("stacks", None, lambda: [1])
    again = cache.get("stacks", None, lambda: [2])
    assert (first.data, first.hit, again.data, again.hit) == ([1], False, [1], True)
    cache.invalidate("stacks")
    refetched = cache.get("stacks", None, lambda: [3])
    assert refetched.data == [3] and not refetched.hit
    # variables are part of the key
    assert cache.get("stack", {"id": "a"}, lambda: "a").data == "a"
    assert cache.get("stack", {"id": "b"}, lambda: "b").data == "b"
