"""Two `greenroom run` instances (2 gunicorn workers each) share one Redis: one token exchange and
one upstream query for a burst of cold requests across both; dead lock holders expire.

The instances run docs/deploy.md's config, with Redis, PostgreSQL and a `spacelift-sim` that
this module starts on loopback (and stops).
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
from cachelib.serializers import RedisSerializer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from cluster import API_TOKEN, Cluster, deploy_config, sign_in

from spacelift_backend.cache import cache_key
from spacelift_backend.token_manager import LOCK_KEY

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# Where PluginCache puts the spacelift plugin's keys in Redis: flask-caching's prefix, then the
# plugin's namespace (host/app.py, host/services.py).
PREFIX = "greenroom:plugin:spacelift:"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_server):
    with Cluster(tmp_path_factory.mktemp("scale")) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=50)
        config = cluster.write_config(deploy_config())
        env = cluster.env(sim, store.url, database_url=postgres_server.url)
        portals = [cluster.portal(config, env, workers=2) for _ in range(2)]
        yield cluster, redis.Redis.from_url(store.url), sim, portals


@pytest.fixture
def cold(deployment):
    """Nothing cached anywhere, counters at zero, no fault."""
    cluster, client, sim, portals = deployment
    client.flushdb()
    sim.fault("none")
    sim.reset_stats()
    yield deployment
    sim.fault("none")


def burst(urls: list[str], headers: dict[str, str] | None = None, session=None) -> list:
    """GET every url at once (threads released together); the responses, in order."""
    gate = threading.Barrier(len(urls))
    get = session.get if session is not None else requests.get

    def one(url: str) -> requests.Response:
        gate.wait(timeout=10)
        return get(url, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(one, urls))


def test_50_concurrent_cold_requests_across_two_instances_make_one_exchange_and_one_query(cold):
    _cluster, _client, sim, portals = cold
    # A slow Spacelift (300 ms an answer), so that every worker of both instances is in flight
    # while the first exchange and the first query are still running.
    sim.fault("slow", latency_ms=300)
    urls = [f"{portals[i % 2].url}/api/spacelift/stacks" for i in range(50)]
    answers = burst(urls, AUTH)
    assert [a.status_code for a in answers] == [200] * 50
    assert {a.json()["total"] for a in answers} == {50}
    assert not any(a.json()["stale"] for a in answers)
    stats = sim.stats()
    assert stats["tokens_issued"] == 1, stats
    assert stats["operations"].get("apiKeyUser") == 1, stats
    assert stats["operations"].get("searchStacks") == 1, stats
    assert all(p.alive for p in portals)


def test_cold_fragment_polls_across_both_instances_share_one_exchange_and_one_query(cold):
    _cluster, _client, sim, portals = cold
    sim.fault("slow", latency_ms=200)
    viewer = sign_in(portals[0].url)  # the cookie is signed with the shared backend.secret
    urls = [f"{portals[i % 2].url}/spacelift/fragments/overview" for i in range(20)]
    answers = burst(urls, session=viewer)
    assert [a.status_code for a in answers] == [200] * 20
    assert len({a.headers["ETag"] for a in answers}) == 1  # the same content from both
    stats = sim.stats()
    assert stats["tokens_issued"] == 1 and stats["operations"].get("searchStacks") == 1, stats
    # An unchanged poll is a 304 with an empty body, on either instance.
    for portal in portals:
        again = viewer.get(f"{portal.url}/spacelift/fragments/overview",
                           headers={"If-None-Match": answers[0].headers["ETag"]}, timeout=30)  # fmt: skip
        assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "lock", [LOCK_KEY, "flight:" + cache_key("stacks", None)], ids=["token-refresh", "stacks-flight"]
)
def test_a_lock_whose_holder_died_expires_and_the_next_request_proceeds(cold, lock):
    """A worker that died holding a lock leaves the key in Redis; it expires, and the waiting
    request goes on by itself (no 504, no second exchange)."""
    _cluster, client, sim, portals = cold
    if lock != LOCK_KEY:  # the flight lock sits behind a valid token
        requests.get(f"{portals[0].url}/api/spacelift/status", headers=AUTH, timeout=30)
        sim.reset_stats()
    name = f"{PREFIX}lock:{lock}"
    dead = RedisSerializer().dumps("a worker that was killed")
    assert client.set(name, dead, px=2000, nx=True)
    started = time.monotonic()
    answer = requests.get(f"{portals[1].url}/api/spacelift/stacks", headers=AUTH, timeout=60)
    waited = time.monotonic() - started
    assert answer.status_code == 200 and answer.json()["total"] == 50
    assert not answer.json()["stale"]
    assert 1.0 <= waited < 10, waited  # it did wait for the dead holder, and not for long
    stats = sim.stats()
    assert stats["operations"].get("searchStacks") == 1, stats
    assert stats["tokens_issued"] == (1 if lock == LOCK_KEY else 0), stats
    assert not client.exists(name)  # released by the request that took it over


def test_a_session_from_one_instance_works_on_the_other(deployment):
    _cluster, _client, _sim, portals = deployment
    viewer = sign_in(portals[1].url)
    page = viewer.get(f"{portals[0].url}/spacelift/", timeout=30)
    assert page.status_code == 200 and "Spacelift Stacks" in page.text
    for portal in portals:
        ready = requests.get(f"{portal.url}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"] == {"cache": "ok"}
