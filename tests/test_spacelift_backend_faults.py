"""Every simulator fault, and bad credentials, on every route: the documented status and code,
the last good answer where there was one, never a 500, and recovery once the fault clears."""

from __future__ import annotations

import time

import pytest
from spacelift_backend_support import API, AUTH, backend_app

from host.testing import sign_in

TIMEOUT = 0.4  # requestTimeoutSeconds; the "slow" fault answers after 1 s
TTL = 0.2

# fault -> (status, code, words the message must contain)
FAULTS = {
    "down": (503, "spacelift_unreachable", "unavailable"),
    "http500": (502, "spacelift_error", "internal server error"),
    "graphql_error": (502, "spacelift_error", "simulated fault: internal error"),
    "slow": (504, "spacelift_timeout", "did not answer within 0.4 s"),
    "malformed": (502, "spacelift_error", "not valid GraphQL JSON"),
}


pytestmark = pytest.mark.usefixtures("fresh_sim")


def read_urls(sim) -> list[str]:
    stack = next(s for s in sim.world.all_stacks() if s.state != "NONE")
    run = sim.world.runs_of(stack)[-1]
    return [
        f"{API}/stacks",
        f"{API}/summary",
        f"{API}/stacks/{stack.id}",
        f"{API}/stacks/{stack.id}/runs",
        f"{API}/stacks/{stack.id}/runs/{run.id}",
    ]


def signed_in(app):
    client = app.test_client()
    client.csrf = sign_in(client)
    return client


def trigger_url(sim) -> str:
    stack = next(s for s in sim.world.all_stacks() if not s.locked_by and not s.is_disabled)
    return f"{API}/stacks/{stack.id}/trigger"


def assert_error(response, status: int, code: str, words: str) -> None:
    assert response.status_code == status, (response.request.path, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == code
    assert words in error["message"], error["message"]
    assert error["hint"]
    assert "Traceback" not in response.get_data(as_text=True)


def assert_recovers(client, urls: list[str]) -> None:
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_json())
        assert response.get_json()["stale"] is False


@pytest.mark.parametrize("mode", sorted(FAULTS))
def test_a_fault_without_earlier_data_gives_its_status_and_code(sim, mode):
    status, code, words = FAULTS[mode]
    app = backend_app(sim, cacheTtlSeconds=TTL, requestTimeoutSeconds=TIMEOUT)
    client = signed_in(app)
    urls = read_urls(sim)
    sim.fault(mode)
    for url in urls:
        assert_error(client.get(url), status, code, words)
    assert_error(
        client.post(trigger_url(sim), headers={"X-CSRF-Token": client.csrf}), status, code, words
    )
    report = client.get(f"{API}/status").get_json()
    assert report["connected"] is False
    assert report["lastError"]["code"] == code and report["lastError"]["hint"]
    assert client.get(f"{API}/health").status_code == 200
    assert client.get("/healthz").status_code == 200  # the host stays up
    sim.fault("none")
    assert_recovers(client, urls)
    assert client.get(f"{API}/status").get_json()["connected"] is True


@pytest.mark.parametrize("mode", sorted(FAULTS))
def test_a_fault_after_good_answers_serves_them_stale(sim, mode):
    status, code, words = FAULTS[mode]
    app = backend_app(sim, cacheTtlSeconds=TTL, requestTimeoutSeconds=TIMEOUT)
    client = signed_in(app)
    urls = read_urls(sim)
    good = {url: client.get(url).get_json() for url in urls}
    time.sleep(TTL + 0.05)
    sim.fault(mode)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_json())
        body = response.get_json()
        assert body["stale"] is True
        assert body["error"]["code"] == code and words in body["error"]["message"]
        assert body["fetchedAt"] == good[url]["fetchedAt"]
        for key in ("items", "total", "counts", "id", "state", "history", "runs"):
            assert body.get(key) == good[url].get(key), (url, key)
    # an action is never answered from the cache
    assert_error(
        client.post(trigger_url(sim), headers={"X-CSRF-Token": client.csrf}), status, code, words
    )
    sim.fault("none")
    assert_recovers(client, urls)


def test_a_wrong_secret_is_an_auth_failure_until_it_is_right(sim):
    app = backend_app(sim, apiSecret="a-wrong-secret")
    client = signed_in(app)
    urls = read_urls(sim)
    for url in urls:
        assert_error(client.get(url), 502, "spacelift_auth_failed", "the secret may be wrong")
    assert_error(
        client.post(trigger_url(sim), headers={"X-CSRF-Token": client.csrf}),
        502, "spacelift_auth_failed", "the secret may be wrong",
    )  # fmt: skip
    assert sim.stats()["tokens_issued"] == 0
    sim.world.tokens.key_secret = "a-wrong-secret"  # the operator fixes it on Spacelift's side
    assert_recovers(client, urls)


def test_an_unknown_key_id_is_an_auth_failure_until_it_exists(sim):
    app = backend_app(sim, apiKey="01UNKNOWNKEY00000000000000")
    client = signed_in(app)
    urls = read_urls(sim)
    for url in urls:
        assert_error(
            client.get(url), 502, "spacelift_auth_failed",
            "does not know the API key id 01UNKNOWNKEY00000000000000",
        )  # fmt: skip
    sim.world.tokens.key_id = "01UNKNOWNKEY00000000000000"
    assert_recovers(client, urls)


def test_a_host_that_refuses_connections_is_unreachable(sim):
    app = backend_app(None, {"spacelift": {"hostUrl": "127.0.0.1:1", "apiKey": "k", "apiSecret": "s"}})
    client = app.test_client()
    for url in (f"{API}/stacks", f"{API}/summary", f"{API}/stacks/some-stack"):
        assert_error(
            client.get(url, headers=AUTH), 503, "spacelift_unreachable",
            "cannot reach Spacelift at 127.0.0.1:1: connection refused",
        )  # fmt: skip
    report = client.get(f"{API}/status", headers=AUTH).get_json()
    assert report["connected"] is False and report["lastError"]["code"] == "spacelift_unreachable"
