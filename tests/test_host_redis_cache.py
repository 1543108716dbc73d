"""backend.cache.store: redis — shared across processes, atomic locks, and survives an outage."""

from __future__ import annotations

import logging
import threading
import time

import kitchen_plugin
import pytest
import redis
from redis_server import start_redis

from host.testing import make_app, sign_in


def redis_app(url: str):
    return make_app({"backend": {"cache": {"store": "redis", "connection": url}}},
                    plugins=[kitchen_plugin], load_entrypoints=True)


def ctx_cache(app, plugin_id="kitchen"):
    return app.extensions["greenroom"].contexts[("backend", plugin_id)].cache


def test_two_apps_share_one_redis(redis_server):
    a, b = redis_app(redis_server.url), redis_app(redis_server.url)
    ctx_cache(a).set("greeting", {"hello": "world"}, ttl=30)
    assert ctx_cache(b).get("greeting") == {"hello": "world"}
    client = redis.Redis.from_url(redis_server.url)
    assert client.exists("greenroom:plugin:kitchen:greeting")


def test_add_is_set_nx_with_expiry(redis_server):
    app = redis_app(redis_server.url)
    cache = ctx_cache(app)
    cache.delete("once")
    assert cache.add("once", "first", ttl=30) is True
    assert cache.add("once", "second", ttl=30) is False
    assert cache.get("once") == "first"
    ttl = redis.Redis.from_url(redis_server.url).ttl("greenroom:plugin:kitchen:once")
    assert 0 < ttl <= 30


def test_a_lock_whose_holder_died_expires(redis_server):
    holder, other = redis_app(redis_server.url), redis_app(redis_server.url)
    # The holder takes the lock and "dies": it never releases it.
    assert ctx_cache(holder).add("lock:refresh", "dead-holder", ttl=1)
    started = time.monotonic()
    with ctx_cache(other).lock("refresh", ttl=5, wait=5) as won:
        waited = time.monotonic() - started
        assert won is True
    assert 0.5 <= waited <= 3.0, waited


def test_lock_is_exclusive_across_apps(redis_server):
    apps = [redis_app(redis_server.url) for _ in range(2)]
    inside = []
    overlap = []

    def work(app):
        for _ in range(5):
            with ctx_cache(app).lock("exclusive", ttl=5, wait=10) as won:
                assert won
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                time.sleep(0.01)
                inside.pop()

    threads = [threading.Thread(target=work, args=(a,)) for a in apps for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == []


def test_requests_still_succeed_when_redis_stops(tmp_path, caplog):
    server = start_redis(tmp_path)
    try:
        app = redis_app(server.url)
        client = app.test_client()
        csrf = sign_in(client)
        assert client.post("/api/hello/wave", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert client.get("/readyz").status_code == 200
        server.stop()
        caplog.set_level(logging.WARNING)
        # Signed-in requests, writes and pages keep working from the per-process cache.
        assert client.get("/api/hello/greet").status_code == 200
        assert client.post("/api/hello/wave", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert client.get("/hello/").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "Redis is unreachable" in ready.json["checks"]["cache"]
        assert "the shared cache (Redis) is unreachable" in caplog.text
    finally:
        server.stop()


@pytest.mark.parametrize("store", ["memory"])
def test_memory_store_is_always_ready(store):
    app = make_app({"backend": {"cache": {"store": store}}})
    assert app.test_client().get("/readyz").json["checks"] == {"cache": "ok"}
