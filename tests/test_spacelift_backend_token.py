"""The token manager: one exchange for many callers, refresh before expiry, recovery from a
dead token (expired, revoked, or refused with a 401), never an anonymous answer."""

from __future__ import annotations

import threading
import time

import pytest
from flask_caching.backends.simplecache import SimpleCache
from spacelift_backend_support import (
    API,
    AUTH,
    backend_app,
    run_concurrently,
    running_sim,
)

from host import PluginCache
from host.testing import sign_in
from spacelift_backend.token_manager import MAX_MARGIN, Token, TokenManager

pytestmark = pytest.mark.usefixtures("fresh_sim")


def stacks_ok(response, total: int = 20) -> None:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stale"] is False
    assert body["total"] == total and len(body["items"]) == total


def test_50_concurrent_cold_requests_make_one_exchange_and_one_stack_query(sim):
    app = backend_app(sim)
    responses = run_concurrently(50, lambda i: app.test_client().get(f"{API}/stacks?perPage=100", headers=AUTH))
    for response in responses:
        stacks_ok(response)
    stats = sim.stats()
    assert stats["operations"].get("apiKeyUser") == 1
    assert stats["operations"].get("searchStacks") == 1
    assert stats["operations"].get("stacks", 0) == 0
    assert stats["tokens_issued"] == 1


def test_the_token_is_reused_until_shortly_before_it_expires(sim):
    app = backend_app(sim, cacheTtlSeconds=0.2)
    client = app.test_client()
    for stack_id in ("a", "b", "c"):
        sim.upsert(id=f"token-reuse-{stack_id}")
        assert client.get(f"{API}/stacks/token-reuse-{stack_id}", headers=AUTH).status_code == 200
    time.sleep(0.3)
    stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH), total=23)
    assert sim.op("apiKeyUser") == 1
    assert sim.op("stack") == 3


def test_refresh_margin_is_60_seconds_or_a_quarter_of_a_short_life():
    now = time.time()
    long = Token.issued("jwt", int(now) + 36000, lifetime=36000)
    assert long.valid_until - long.refresh_at == pytest.approx(MAX_MARGIN, abs=1.5)
    short = Token.issued("jwt", int(now) + 5, lifetime=5)
    assert 0.5 < short.valid_until - short.refresh_at < 2.5
    assert short.usable
    # a local clock 100 s behind Spacelift's: exp - iat still bounds the life
    skewed = Token.issued("jwt", int(now) + 100 + 5, lifetime=5)
    assert skewed.refresh_at < now + 5


def test_polling_across_several_5s_token_expiries_never_returns_an_empty_or_anonymous_answer():
    with running_sim(token_ttl=5) as short_lived:
        app = backend_app(short_lived, cacheTtlSeconds=0.5)
        stack_id = short_lived.world.all_stacks()[0].id
        stop = time.monotonic() + 11.5
        failures: list[str] = []
        answers = [0]
        lock = threading.Lock()

        def poll(i: int) -> None:
            client = app.test_client()
            while time.monotonic() < stop:
                url = f"{API}/stacks?perPage=100" if i % 2 == 0 else f"{API}/stacks/{stack_id}"
                response = client.get(url, headers=AUTH)
                body = response.get_json()
                ok = response.status_code == 200 and body["stale"] is False
                ok = ok and (len(body["items"]) == 20 if "items" in body else body["id"] == stack_id)
                with lock:
                    answers[0] += 1
                    if not ok:
                        failures.append(f"{url}: {response.status_code} {str(body)[:200]}")
                time.sleep(0.25)

        run_concurrently(4, poll)
        stats = short_lived.stats()
    assert not failures, failures[:3]
    assert answers[0] > 100
    # 11.5 s of 5 s tokens: the first one and at least two refreshes, and no exchange storm
    assert 3 <= stats["tokens_issued"] <= 8, stats


def test_a_token_the_simulator_considers_expired_is_dropped_and_replaced():
    offset = [0.0]
    with running_sim(token_ttl=60, clock=lambda: time.time() + offset[0]) as sim_clock:
        app = backend_app(sim_clock, cacheTtlSeconds=0.1)
        client = app.test_client()
        stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH))
        offset[0] = 120  # Spacelift's clock runs past the token's life; ours still trusts it
        time.sleep(0.15)
        sim_clock.reset_stats()
        stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH))
        stats = sim_clock.stats()
    # the first answer was anonymous (null viewer): the token was exchanged again, then retried
    assert stats["operations"]["apiKeyUser"] == 1
    assert stats["operations"]["searchStacks"] == 2


def test_after_revoke_tokens_the_next_request_recovers_by_itself(sim):
    app = backend_app(sim, cacheTtlSeconds=0.1)
    client = app.test_client()
    stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH))
    assert sim.fault("revoke_tokens")["revoked"] >= 1
    time.sleep(0.15)
    stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH))
    assert sim.stats()["tokens_issued"] == 2
    status = client.get(f"{API}/status", headers=AUTH).get_json()
    assert status["connected"] is True and status["lastError"] is None


def test_a_mutation_refused_as_unauthorized_retries_once_with_a_new_token(sim):
    app = backend_app(sim)
    client = app.test_client()
    csrf = sign_in(client)
    stack_id = sim.world.all_stacks()[1].id
    client.get(f"{API}/stacks/{stack_id}")  # a token now sits in the cache
    sim.fault("revoke_tokens")
    response = client.post(f"{API}/stacks/{stack_id}/trigger", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.get_json()
    ops = sim.stats()["operations"]
    assert ops["runTrigger"] == 2  # refused once (unauthorized), then done with the new token
    assert ops["apiKeyUser"] == 2
    assert sim.world.run(sim.world.stack(stack_id), response.get_json()["id"]) is not None


def test_an_http_401_drops_the_token_and_retries_once():
    with running_sim(strict_401=True) as strict:
        app = backend_app(strict, cacheTtlSeconds=0.1)
        client = app.test_client()
        stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH))
        strict.fault("revoke_tokens")
        time.sleep(0.15)
        stacks_ok(client.get(f"{API}/stacks?perPage=100", headers=AUTH))
        assert strict.stats()["tokens_issued"] == 2


def test_the_refresh_is_single_flight_across_processes_sharing_the_cache():
    """Two "processes" (separate PluginCache objects, so separate in-process locks) over one
    shared backend: the cache lock alone keeps it to one exchange."""
    shared = SimpleCache(threshold=1000, default_timeout=300)
    calls = []

    def exchange() -> Token:
        calls.append(1)
        time.sleep(0.2)  # a slow exchange, so that everybody piles up behind it
        return Token.issued(f"jwt-{len(calls)}", int(time.time()) + 3600, lifetime=3600)

    managers = [TokenManager(PluginCache(shared, "plugin:spacelift"), exchange, wait=5) for _ in range(2)]
    tokens = run_concurrently(20, lambda i: managers[i % 2].get())
    assert len(calls) == 1
    assert {t.jwt for t in tokens} == {"jwt-1"}
    # dropping an old token does not throw away a newer one someone else fetched
    old = tokens[0]
    managers[0].drop(old)
    newer = managers[1].get()
    assert newer.jwt == "jwt-2"
    managers[0].drop(old)
    assert managers[0].get().jwt == "jwt-2" and len(calls) == 2
