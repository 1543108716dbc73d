"""API-key exchange and bearer tokens behave like Spacelift's (reference 1.3-1.5 and 9.1)."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from gql.transport.exceptions import TransportQueryError

from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, World, create_app
from spacelift_sim.testing import execute, fetch_token, gql_client, run_in_thread

TOKEN = "mutation($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { id name jwt validUntil } }"
ANONYMOUS_VIEW = """{ stacks { id } viewer { id }
  searchStacks(input: {first: 10}) { edges { node { id } } pageInfo { hasNextPage endCursor } }
  stack(id: "STACK") { id } spaces { id } space(id: "root") { id } }"""


class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock():
    return FakeClock()


@pytest.fixture(scope="module")
def world(clock):
    return World(stacks=5, seed=1, activity=0, token_ttl=600, clock=clock)


@pytest.fixture(scope="module")
def server(world):
    handle = run_in_thread(create_app(world))
    try:
        yield handle
    finally:
        handle.stop()


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def post(url, document, token=None, variables=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        url, json={"query": document, "variables": variables or {}}, headers=headers, timeout=30
    )


def test_token_is_a_real_jwt_with_the_specified_claims(server, clock):
    client = gql_client(server.graphql_url)
    user = execute(client, TOKEN, id=DEFAULT_KEY_ID, secret=DEFAULT_KEY_SECRET)["apiKeyUser"]
    header_part, _, signature = user["jwt"].split(".")
    assert signature
    header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = claims_of(user["jwt"])
    assert claims["aud"] == [server.url]  # one element: the base URL without /graphql
    assert claims["iss"] == "api-key"
    assert claims["sub"] and claims["jti"]
    assert claims["iat"] == claims["nbf"] == int(clock.now)
    assert claims["exp"] == user["validUntil"] == int(clock.now) + 600
    assert user["validUntil"] < 2**31
    assert user["id"] == DEFAULT_KEY_ID

    viewer = execute(
        gql_client(server.graphql_url, user["jwt"]), "{ viewer { id jwt validUntil } }"
    )["viewer"]
    assert viewer == {"id": DEFAULT_KEY_ID, "jwt": user["jwt"], "validUntil": user["validUntil"]}


def test_base_url_option_fixes_the_audience():
    handle = run_in_thread(
        create_app(World(stacks=1, activity=0), base_url="https://acme.app.spacelift.io/")
    )
    try:
        token = fetch_token(handle.graphql_url)
        assert claims_of(token)["aud"] == ["https://acme.app.spacelift.io"]
    finally:
        handle.stop()


def test_unknown_key_id_gives_null_and_wrong_secret_gives_unauthorized(server, world):
    before = world.stats.tokens_issued
    unknown = post(
        server.graphql_url, TOKEN, variables={"id": "01UNKNOWNKEY00000000000000", "secret": "x"}
    )
    assert unknown.status_code == 200
    assert unknown.json() == {"data": {"apiKeyUser": None}}

    wrong = post(server.graphql_url, TOKEN, variables={"id": DEFAULT_KEY_ID, "secret": "not-it"})
    assert wrong.status_code == 200
    body = wrong.json()
    assert body["data"] == {"apiKeyUser": None}
    assert body["errors"][0]["message"] == "unauthorized"
    assert body["errors"][0]["path"] == ["apiKeyUser"]
    with pytest.raises(TransportQueryError, match="unauthorized"):
        fetch_token(server.graphql_url, DEFAULT_KEY_ID, "not-it")
    assert world.stats.tokens_issued == before


def assert_anonymous(url, token, stack_id):
    answer = post(url, ANONYMOUS_VIEW.replace("STACK", stack_id), token)
    assert answer.status_code == 200
    assert answer.json() == {
        "data": {
            "stacks": [],
            "viewer": None,
            "searchStacks": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}},
            "stack": None,
            "spaces": [],
            "space": None,
        }
    }
    for name, document in {
        "runTrigger": 'mutation { runTrigger(stack: "STACK") { id } }',
        "stackLock": 'mutation { stackLock(id: "STACK") { id } }',
        "stackDisable": 'mutation { stackDisable(id: "STACK") { id } }',
        "runConfirm": 'mutation { runConfirm(stack: "STACK") { id } }',
    }.items():
        refused = post(url, document.replace("STACK", stack_id), token).json()
        assert refused["data"] is None
        assert refused["errors"][0]["message"] == "unauthorized"
        assert refused["errors"][0]["path"] == [name]


def test_missing_invalid_expired_and_revoked_tokens_are_anonymous(server, world, clock):
    stack_id = world.all_stacks()[0].id
    good = fetch_token(server.graphql_url)
    assert (
        post(server.graphql_url, "{ viewer { id } }", good).json()["data"]["viewer"]["id"]
        == DEFAULT_KEY_ID
    )
    assert len(post(server.graphql_url, "{ stacks { id } }", good).json()["data"]["stacks"]) == 5

    assert_anonymous(server.graphql_url, None, stack_id)
    assert_anonymous(server.graphql_url, "not-a-jwt", stack_id)
    header, payload, signature = good.split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps({**claims_of(good), "exp": 2_000_000_000}).encode()
    )
    assert_anonymous(
        server.graphql_url, f"{header}.{forged.decode().rstrip('=')}.{signature}", stack_id
    )
    basic = requests.post(
        server.graphql_url,
        json={"query": "{ viewer { id } }"},
        headers={"Authorization": f"Basic {good}"},
        timeout=30,
    )
    assert basic.json() == {"data": {"viewer": None}}

    clock.now += 601  # past validUntil
    try:
        assert_anonymous(server.graphql_url, good, stack_id)
    finally:
        clock.now -= 601

    assert post(server.graphql_url, "{ viewer { id } }", good).json()["data"]["viewer"] is not None
    revoked = requests.post(
        f"{server.url}/_sim/faults", json={"mode": "revoke_tokens"}, timeout=30
    ).json()
    assert revoked["revoked"] >= 1 and revoked["mode"] == "none"
    assert_anonymous(server.graphql_url, good, stack_id)
    fresh = fetch_token(server.graphql_url)  # new tokens work again
    assert (
        post(server.graphql_url, "{ viewer { id } }", fresh).json()["data"]["viewer"]["id"]
        == DEFAULT_KEY_ID
    )


def test_strict_401_mode_answers_401_for_bad_tokens():
    clock = FakeClock()
    handle = run_in_thread(
        create_app(World(stacks=3, activity=0, token_ttl=60, clock=clock), strict_401=True)
    )
    try:
        good = fetch_token(handle.graphql_url)
        assert post(handle.graphql_url, "{ stacks { id } }", good).status_code == 200
        bad = post(handle.graphql_url, "{ stacks { id } }", "garbage")
        assert bad.status_code == 401 and bad.json() == {"errors": [{"message": "unauthorized"}]}
        clock.now += 61
        assert post(handle.graphql_url, "{ stacks { id } }", good).status_code == 401
        # No token at all is still anonymous (introspection and apiKeyUser need none).
        assert post(handle.graphql_url, "{ stacks { id } }").json() == {"data": {"stacks": []}}
    finally:
        handle.stop()
