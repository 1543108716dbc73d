"""The API secret and every JWT the simulator issued never appear in a response or a log line,
whatever happens: normal answers, faults, refused keys, revoked tokens."""

from __future__ import annotations

import logging

import pytest
from spacelift_backend_support import API, AUTH, backend_app, running_sim

from host.testing import sign_in
from spacelift_sim.testing import fetch_token

CANARY = "CANARY-spacelift-secret-5f1c9a7e-do-not-leak"
LOGGERS = ("", "greenroom", "greenroom.plugins.spacelift", "gql", "gql.transport.requests",
           "urllib3", "urllib3.connectionpool", "requests", "werkzeug", "spacelift_sim")  # fmt: skip


@pytest.fixture
def sim():
    with running_sim(key_secret=CANARY, token_ttl=5) as running:
        issued: list[str] = []
        exchange = running.world.tokens.exchange

        def recording(*args, **kwargs):
            result = exchange(*args, **kwargs)
            if result is not None:
                issued.append(result[0])
            return result

        running.world.tokens.exchange = recording  # type: ignore[method-assign]
        running.issued = issued  # type: ignore[attr-defined]
        yield running


def capture_everything(caplog) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)


def test_the_capture_would_see_a_leak(sim, caplog):
    """Control: gql's stock requests transport logs payloads and answers at DEBUG, so a plain
    gql call does put the secret and the JWT in these logs. Ours must not."""
    capture_everything(caplog)
    jwt = fetch_token(sim.server.graphql_url, key_secret=CANARY)
    assert CANARY in caplog.text and jwt in caplog.text


def test_no_secret_and_no_jwt_in_responses_or_logs(sim, caplog):
    capture_everything(caplog)
    app = backend_app(sim, apiSecret=CANARY, cacheTtlSeconds=0.1, requestTimeoutSeconds=0.4)
    client = app.test_client()
    csrf = sign_in(client)
    stack = next(s for s in sim.world.all_stacks() if not s.locked_by and not s.is_disabled)
    run = sim.world.runs_of(stack)[-1]
    urls = ["/health", "/status", "/stacks", "/summary", f"/stacks/{stack.id}",
            f"/stacks/{stack.id}/runs", f"/stacks/{stack.id}/runs/{run.id}", "/openapi.json",
            "/stacks/no-such-stack", "/stacks?page=0"]  # fmt: skip
    bodies: list[str] = []

    def sweep() -> list[int]:
        statuses = []
        for url in urls:
            for headers in (AUTH, {}):
                response = client.get(API + url, headers=headers)
                statuses.append(response.status_code)
                bodies.append(response.get_data(as_text=True) + str(response.headers))
        response = client.post(f"{API}/stacks/{stack.id}/trigger", headers={"X-CSRF-Token": csrf})
        statuses.append(response.status_code)
        bodies.append(response.get_data(as_text=True) + str(response.headers))
        assert 500 not in statuses
        return statuses

    assert sweep() == [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
                       200, 200, 404, 404, 422, 422, 200]  # fmt: skip
    for mode in ("down", "http500", "graphql_error", "slow", "malformed", "revoke_tokens"):
        sim.fault(mode, latency_ms=800 if mode == "slow" else 0)
        sweep()
        sim.fault("none")
    sweep()
    # a key whose secret is refused: the error names the key id, never the secret
    wrong = backend_app(sim, apiSecret=CANARY + "-wrong")
    refused = wrong.test_client().get(f"{API}/stacks", headers=AUTH)
    assert refused.status_code == 502
    bodies.append(refused.get_data(as_text=True))
    bodies.append(wrong.test_client().get(f"{API}/status", headers=AUTH).get_data(as_text=True))

    assert len(sim.issued) >= 2  # the first token and the one after revoke_tokens
    everything = "\n".join(bodies)
    logs = caplog.text
    assert "spacelift call op=GreenroomStacks" in logs  # logging did happen, at DEBUG too
    assert "cache=hit" in logs
    assert CANARY not in everything and CANARY not in logs
    for jwt in sim.issued:
        assert jwt not in everything and jwt not in logs
        # nor any of its three parts (a truncated token is still a token)
        assert jwt.split(".")[2] not in everything + logs
