"""The /_sim/ controls: every fault mode is visible to a client; stats count root fields."""

from __future__ import annotations

import time

import pytest
import requests
from gql.transport.exceptions import TransportQueryError, TransportServerError

from spacelift_sim import World, create_app
from spacelift_sim.testing import execute, fetch_token, gql_client, run_in_thread


@pytest.fixture(scope="module")
def world():
    return World(stacks=8, seed=2, activity=0)


@pytest.fixture(scope="module")
def server(world):
    handle = run_in_thread(create_app(world))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def token(server):
    return fetch_token(server.graphql_url)


@pytest.fixture
def sim(server):
    def control(path, **body):
        answer = requests.post(f"{server.url}/_sim/{path}", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    yield control
    control("faults", mode="none")


def query(server, token, document="{ stacks { id } }"):
    return requests.post(
        server.graphql_url,
        json={"query": document},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_down_answers_503_and_controls_keep_working(server, token, sim):
    sim("faults", mode="down")
    answer = query(server, token)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    client = gql_client(server.graphql_url, token, fetch_schema=False)
    with pytest.raises(TransportServerError) as caught:
        execute(client, "{ stacks { id } }")
    assert caught.value.code == 503
    assert requests.get(f"{server.url}/_sim/stats", timeout=30).status_code == 200
    assert requests.get(f"{server.url}/_sim/faults", timeout=30).json()["mode"] == "down"
    sim("faults", mode="none")
    assert query(server, token).status_code == 200


def test_http500_graphql_error_and_malformed(server, token, sim):
    sim("faults", mode="http500")
    answer = query(server, token)
    assert (
        answer.status_code == 500
        and answer.json()["errors"][0]["message"] == "internal server error"
    )

    sim("faults", mode="graphql_error")
    answer = query(server, token)
    assert answer.status_code == 200
    assert answer.json()["data"] is None and answer.json()["errors"][0]["message"].startswith(
        "simulated fault"
    )
    with pytest.raises(TransportQueryError, match="simulated fault"):
        execute(gql_client(server.graphql_url, token, fetch_schema=False), "{ stacks { id } }")

    sim("faults", mode="malformed")
    answer = query(server, token)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(
        "application/json"
    )
    with pytest.raises(ValueError):
        answer.json()


def test_slow_waits_latency_ms(server, token, sim):
    sim("faults", mode="slow", latency_ms=300)
    started = time.perf_counter()
    answer = query(server, token)
    assert answer.status_code == 200 and answer.json()["data"]["stacks"]
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(requests.Timeout):
        requests.post(server.graphql_url, json={"query": "{ viewer { id } }"}, timeout=0.1)
    time.sleep(0.4)  # let the server finish that request before other tests count requests


def test_probability_makes_faults_intermittent(server, token, sim):
    sim("faults", mode="http500", probability=0.5)
    statuses = [query(server, token).status_code for _ in range(40)]
    assert 5 <= statuses.count(500) <= 35 and statuses.count(200) >= 5


def test_bad_fault_requests_are_rejected(server):
    for body in (
        {"mode": "explode"},
        {"mode": "slow", "probability": 2},
        {"mode": "slow", "latency_ms": -1},
    ):
        assert requests.post(f"{server.url}/_sim/faults", json=body, timeout=30).status_code == 400


def test_stats_count_requests_root_fields_and_tokens(server, token, sim):
    sim("stats/reset")
    assert requests.get(f"{server.url}/_sim/stats", timeout=30).json() == {
        "requests": 0, "operations": {}, "tokens_issued": 0,
    }  # fmt: skip
    fetch_token(server.graphql_url)
    query(
        server,
        token,
        '{ stacks { id } viewer { id } first: stack(id: "x") { id } second: stack(id: "y") { id } }',
    )
    query(
        server, token, "query A { spaces { id } } query B { stacks { id } }"
    )  # no operationName: an error
    query(
        server,
        token,
        "fragment F on Query { spaces { id } } query { ...F ... on Query { viewer { id } } }",
    )
    requests.post(
        server.graphql_url, json={"query": "query A { spaces { id } } query B { stacks { id } }", "operationName": "B"},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )  # fmt: skip
    query(server, token, "{ stacks { nope } }")  # fails validation: not executed
    requests.post(server.graphql_url, data=b"{", timeout=30)  # malformed: a request, no operation
    sim("faults", mode="down")
    query(server, token)  # faulted: a request, no operation
    sim("faults", mode="none")
    stats = requests.get(f"{server.url}/_sim/stats", timeout=30).json()
    assert stats == {
        "requests": 8,
        "operations": {"apiKeyUser": 1, "spaces": 1, "stack": 2, "stacks": 2, "viewer": 2},
        "tokens_issued": 1,
    }
    gql_client(server.graphql_url, token).execute  # noqa: B018 - builds lazily, no request yet
    execute(gql_client(server.graphql_url, token), "{ viewer { id } }")
    stats = requests.get(f"{server.url}/_sim/stats", timeout=30).json()
    assert stats["operations"]["__schema"] == 1  # gql's introspection counts too
    assert stats["requests"] == 10


def test_tick_upsert_and_reset_controls(server, token, world, sim):
    odd = sim("stacks", id="odd-one", name="<img src=x onerror=alert(1)>", state="PENDING_REVIEW",
              labels=["<b>bold</b>"], description="a \"quoted\" & <tagged> one")  # fmt: skip
    assert odd["state"] == "PENDING_REVIEW"
    client = gql_client(server.graphql_url, token)
    seen = execute(client, '{ stack(id: "odd-one") { id name state labels description } }')["stack"]
    assert seen == {"id": "odd-one", "name": "<img src=x onerror=alert(1)>", "state": "PENDING_REVIEW",
                    "labels": ["<b>bold</b>"], "description": 'a "quoted" & <tagged> one'}  # fmt: skip
    listed = query(server, token, "{ stacks { id state } }").json()
    assert {"id": "odd-one", "state": "PENDING_REVIEW"} in listed["data"]["stacks"]
    found = execute(
        client,
        'query { searchStacks(input: {predicates: [{field: "state", constraint: {enumEquals: ["PENDING_REVIEW"]}}]}) { edges { node { id } } } }',
    )
    assert [e["node"]["id"] for e in found["searchStacks"]["edges"]] == ["odd-one"]

    existing = world.all_stacks()[0].id
    sim("stacks", id=existing, isDisabled=True, state="FAILED")
    assert world.stack(existing).is_disabled and world.stack(existing).state == "FAILED"
    for bad in ({"name": "no id"}, {"id": "x", "colour": "red"}, {"id": "x", "state": "lower"},
                {"id": "x", "labels": "notalist"}, {"id": "x", "space": "nowhere"}):  # fmt: skip
        assert requests.post(f"{server.url}/_sim/stacks", json=bad, timeout=30).status_code == 400

    world.upsert_stack(id="ticking", autodeploy=True, nextOutcomes=["changes"])
    run = execute(client, 'mutation { runTrigger(stack: "ticking") { id } }')["runTrigger"]
    assert sim("tick", steps=6)["transitions"] >= 6
    assert world.run(world.stack("ticking"), run["id"]).state == "FINISHED"
    assert (
        requests.post(f"{server.url}/_sim/tick", json={"steps": "many"}, timeout=30).status_code
        == 400
    )

    sim("faults", mode="slow", latency_ms=5)
    assert sim("reset") == {"stacks": 8, "seed": 2}
    assert world.stack("odd-one") is None and world.stack("ticking") is None
    assert not world.stack(existing).is_disabled
    assert requests.get(f"{server.url}/_sim/faults", timeout=30).json()["mode"] == "none"
    # Tokens survive a world reset.
    assert query(server, token, "{ viewer { id } }").json()["data"]["viewer"] is not None


def test_wall_clock_ticker_moves_runs():
    world = World(stacks=2, activity=0)
    app = create_app(world, tick_seconds=0.05)
    handle = run_in_thread(app)
    try:
        world.upsert_stack(id="auto", autodeploy=True, nextOutcomes=["changes"])
        run = world.trigger_run("auto", "tester")
        deadline = time.monotonic() + 10
        while run.state != "FINISHED" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.state == "FINISHED"
    finally:
        handle.stop()
    assert app.extensions["spacelift_sim"].ticker is None
