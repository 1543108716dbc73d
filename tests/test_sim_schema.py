"""The simulator's schema and queries, exercised with gql over a loopback server."""

from __future__ import annotations

import pytest
import requests
from gql.transport.exceptions import TransportQueryError
from graphql import GraphQLNonNull, get_named_type

from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, RUNS_PAGE_SIZE, World, create_app
from spacelift_sim.compat import drop_empty_variable_lists
from spacelift_sim.testing import execute, fetch_token, gql_client, run_in_thread

# The official Backstage plugin's three documents, as it sends them (reference, section 3.4).
OFFICIAL_TOKEN = """
  mutation GetSpaceliftToken($apiKey: ID!, $apiSecret: String!) {
    apiKeyUser(id: $apiKey, secret: $apiSecret) {
      id
      jwt
    }
  }
"""
OFFICIAL_STACKS = """
  query GetStacks () {
    stacks {
      id,
      name,
      description,
      labels,
      state,
      branch,
      spaceDetails {
        id,
        name
      }
    }
  }
"""
OFFICIAL_TRIGGER = """
  mutation TriggerRun($stackId: ID!) {
    runTrigger(stack: $stackId) {
      id
      state
    }
  }
"""


@pytest.fixture(scope="module")
def world():
    return World(stacks=40, seed=11, activity=0)


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


@pytest.fixture(scope="module")
def client(server, token):
    return gql_client(server.graphql_url, token)


def post(server, document, variables=None, token=None, **extra):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": document, "variables": variables or {}, **extra}
    return requests.post(server.graphql_url, json=body, headers=headers, timeout=30)


def test_introspected_schema_has_the_reference_names_and_nullability(client):
    execute(client, "{ viewer { id } }")  # connects and fetches the schema
    schema = client.schema
    query = schema.query_type.fields
    assert set(query) >= {
        "stacks",
        "stack",
        "searchStacks",
        "runStack",
        "viewer",
        "spaces",
        "space",
    }
    assert str(query["stacks"].type) == "[Stack!]!"
    assert str(query["stack"].type) == "Stack"
    assert str(query["stack"].args["id"].type) == "ID!"
    assert str(query["searchStacks"].type) == "StackConnection!"
    assert str(query["searchStacks"].args["input"].type) == "SearchInput!"
    assert str(query["runStack"].args["runId"].type) == "ID!"
    mutation = schema.mutation_type.fields
    assert str(mutation["apiKeyUser"].type) == "User"
    for name in ("runTrigger", "runConfirm", "runDiscard", "runCancel", "runStop", "runRetry"):
        assert str(mutation[name].type) == "Run!"
    for name in ("stackLock", "stackUnlock", "stackEnable", "stackDisable"):
        assert str(mutation[name].type) == "Stack!"
        assert str(mutation[name].args["id"].type) == "ID!"
    assert str(mutation["runConfirm"].args["run"].type) == "ID"
    assert str(mutation["runCancel"].args["run"].type) == "ID!"
    assert str(mutation["runTrigger"].args["runType"].type) == "RunType"
    stack = schema.type_map["Stack"].fields
    expected = {
        "id": "ID!", "name": "String!", "description": "String", "state": "StackState!",
        "stateSetAt": "Int", "labels": "[String!]!", "space": "ID!", "spaceDetails": "Space!",
        "blocked": "Boolean!", "blocker": "Run", "trackedCommit": "Commit", "lockedBy": "String",
        "isDisabled": "Boolean!", "workerPool": "WorkerPool", "entityCount": "Int",
        "vendorConfig": "StackConfigVendor", "runs": "[Run!]!", "run": "Run", "createdAt": "Int!",
    }  # fmt: skip
    assert {name: str(stack[name].type) for name in expected} == expected
    assert str(stack["runs"].args["before"].type) == "ID"
    run = schema.type_map["Run"].fields
    assert str(run["delta"].type) == "Delta"
    assert str(run["commit"].type) == "Commit!"
    assert str(run["history"].type) == "[RunStateTransition!]!"
    assert set(schema.type_map["Delta"].fields) == {
        "addCount", "changeCount", "deleteCount", "resources"
    }  # fmt: skip
    vendors = {t.name for t in schema.type_map["StackConfigVendor"].types}
    assert {
        "StackConfigVendorTerraform",
        "StackConfigVendorOpenTofu",
        "StackConfigVendorPulumi",
    } <= vendors
    assert len(schema.type_map["RunState"].values) == 22
    assert "READY" in schema.type_map["StackState"].values
    edge = schema.type_map["StackEdge"].fields
    assert isinstance(edge["node"].type, GraphQLNonNull)
    assert get_named_type(edge["node"].type).name == "Stack"


def test_official_plugin_documents_verbatim(server):
    token_answer = post(
        server,
        OFFICIAL_TOKEN,
        {"apiKey": DEFAULT_KEY_ID, "apiSecret": DEFAULT_KEY_SECRET},
        operationName="GetSpaceliftToken",
    )
    assert token_answer.status_code == 200
    user = token_answer.json()["data"]["apiKeyUser"]
    assert user["id"] == DEFAULT_KEY_ID and user["jwt"].count(".") == 2

    # graphql-request cannot parse `()` so it sends no operationName at all.
    stacks_answer = requests.post(
        server.graphql_url,
        json={"query": OFFICIAL_STACKS, "variables": {}},
        headers={"Authorization": f"Bearer {user['jwt']}"},
        timeout=30,
    )
    assert stacks_answer.status_code == 200
    body = stacks_answer.json()
    assert "errors" not in body
    stacks = body["data"]["stacks"]
    assert len(stacks) == 40
    assert set(stacks[0]) == {
        "id",
        "name",
        "description",
        "labels",
        "state",
        "branch",
        "spaceDetails",
    }
    assert set(stacks[0]["spaceDetails"]) == {"id", "name"}

    target = next(s["id"] for s in stacks if s["state"] in ("FINISHED", "FAILED", "NONE"))
    trigger = post(
        server, OFFICIAL_TRIGGER, {"stackId": target}, user["jwt"], operationName="TriggerRun"
    )
    assert trigger.status_code == 200
    run = trigger.json()["data"]["runTrigger"]
    assert run["state"] == "QUEUED" and len(run["id"]) == 26


def test_empty_variable_list_rewrite_is_token_aware():
    assert drop_empty_variable_lists("query GetStacks () { a }") == "query GetStacks  { a }"
    assert drop_empty_variable_lists("mutation ( ) { a }") == "mutation  { a }"
    untouched = '{ a(s: "query X () {") }'
    assert drop_empty_variable_lists(untouched) == untouched
    assert drop_empty_variable_lists("query Q($a: Int) { b }") == "query Q($a: Int) { b }"


def test_stack_queries_return_a_realistic_world(client, world):
    result = execute(
        client,
        """query {
          stacks { id name state labels space branch repository namespace provider isDisabled
                   lockedBy autodeploy createdAt stateSetAt entityCount
                   vendorConfig { __typename
                     ... on StackConfigVendorTerraform { version workflowTool }
                     ... on StackConfigVendorOpenTofu { version workflowTool }
                     ... on StackConfigVendorPulumi { stackName } }
                   workerPool { id name } spaceDetails { id name parentSpace } }
          spaces { id name parentSpace inheritEntities labels }
        }""",
    )
    stacks = result["stacks"]
    ids = [s["id"] for s in stacks]
    assert len(set(ids)) == len(ids) == 40
    assert all(s["id"].count("-") >= 2 and s["id"].islower() for s in stacks)
    assert any(s["workerPool"] is None for s in stacks)
    assert any(s["workerPool"] is not None for s in stacks)
    assert len({s["vendorConfig"]["__typename"] for s in stacks}) >= 2
    assert len({s["state"] for s in stacks}) >= 4
    assert all(
        isinstance(s["createdAt"], int) and 1_500_000_000 < s["createdAt"] < 2**31 for s in stacks
    )
    spaces = {s["id"]: s for s in result["spaces"]}
    assert spaces["root"]["parentSpace"] is None
    assert spaces["legacy"]["parentSpace"] == "root"
    assert spaces["platform-prod"]["parentSpace"] == "platform"
    assert all(s["spaceDetails"]["id"] == s["space"] for s in stacks)

    one = execute(client, "query($id: ID!) { space(id: $id) { id name } }", id="platform")
    assert one["space"]["id"] == "platform"
    assert execute(client, 'query { space(id: "nope") { id } }')["space"] is None


def test_stack_runs_page_by_before_and_expose_run_details(client, world):
    stack_id = next(s.id for s in world.all_stacks() if s.plan and s.plan["runs"] > RUNS_PAGE_SIZE)
    document = """query($id: ID!, $before: ID) { stack(id: $id) {
        id state trackedCommit { hash } blocked blocker { id }
        runs(before: $before) { id type state title branch createdAt updatedAt finished
          triggeredBy isMostRecent canRetry canConfirm
          delta { addCount changeCount deleteCount resources }
          commit { hash message authorName authorLogin timestamp url }
          history { state timestamp terminal hasLogs stateVersion note username } } } }"""
    first = execute(client, document, id=stack_id)["stack"]
    runs = first["runs"]
    assert len(runs) == RUNS_PAGE_SIZE
    assert [r["id"] for r in runs] == sorted((r["id"] for r in runs), reverse=True)
    assert all(len(r["id"]) == 26 for r in runs)
    assert all(r["type"] in ("TRACKED", "DESTROY") for r in runs)
    second = execute(client, document, id=stack_id, before=runs[-1]["id"])["stack"]["runs"]
    assert second and all(r["id"] < runs[-1]["id"] for r in second)
    everything = runs + second
    for run in everything:
        history = run["history"]
        assert [h["timestamp"] for h in history] == sorted(
            (h["timestamp"] for h in history), reverse=True
        )
        assert history[0]["state"] == run["state"]
        assert history[-1]["state"] == "QUEUED"
        assert history[0]["terminal"] == run["finished"]
    assert any(
        r["delta"] and r["delta"]["addCount"] + r["delta"]["changeCount"] > 0 for r in everything
    )
    newest_state_run = next(r for r in everything if r["isMostRecent"])
    assert newest_state_run["state"] == first["state"]

    run_id = runs[3]["id"]
    single = execute(
        client,
        "query($s: ID!, $r: ID!) { stack(id: $s) { run(id: $r) { id state } } }",
        s=stack_id,
        r=run_id,
    )
    assert single["stack"]["run"]["id"] == run_id
    owner = execute(client, "query($r: ID!) { runStack(runId: $r) { id } }", r=run_id)
    assert owner["runStack"]["id"] == stack_id
    missing = execute(
        client,
        'query($s: ID!) { stack(id: $s) { run(id: "01ZZZZZZZZZZZZZZZZZZZZZZZZ") { id } } }',
        s=stack_id,
    )
    assert missing["stack"]["run"] is None


def test_search_stacks_filters_orders_and_pages(client, world):
    document = """query($input: SearchInput!) { searchStacks(input: $input) {
        edges { cursor node { id name state labels space } }
        pageInfo { endCursor hasNextPage hasPreviousPage } } }"""
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = execute(client, document, input={"first": 15, "after": after})["searchStacks"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    names = sorted(s.name for s in world.all_stacks())
    assert seen == names  # default order: name ascending, every stack exactly once

    failed = execute(
        client,
        document,
        input={
            "first": 50,
            "predicates": [{"field": "state", "constraint": {"enumEquals": ["FAILED"]}}],
        },
    )["searchStacks"]["edges"]
    assert failed and all(e["node"]["state"] == "FAILED" for e in failed)
    assert len(failed) == sum(1 for s in world.all_stacks() if s.state == "FAILED")

    not_prod = execute(
        client,
        document,
        input={
            "predicates": [
                {"field": "label", "constraint": {"stringMatches": ["env:prod"]}, "exclude": True}
            ]
        },
    )["searchStacks"]["edges"]
    assert not_prod and all("env:prod" not in e["node"]["labels"] for e in not_prod)

    by_space = execute(
        client,
        document,
        input={"predicates": [{"field": "space", "constraint": {"stringMatches": ["legacy"]}}]},
    )["searchStacks"]["edges"]
    assert all(e["node"]["space"] == "legacy" for e in by_space)

    name_part = world.all_stacks()[0].name.split("-")[1]
    by_name = execute(
        client,
        document,
        input={"predicates": [{"field": "name", "constraint": {"stringMatches": [name_part]}}]},
    )["searchStacks"]["edges"]
    assert by_name and all(name_part in e["node"]["name"] for e in by_name)

    text = execute(client, document, input={"fullTextSearch": "ENV:STAGING"})["searchStacks"][
        "edges"
    ]
    assert text and all("env:staging" in e["node"]["labels"] for e in text)

    newest = execute(
        client,
        document,
        input={"first": 100, "orderBy": {"field": "stateSetAt", "direction": "DESC"}},
    )["searchStacks"]["edges"]
    stamps = [world.stack(e["node"]["id"]).state_set_at or 0 for e in newest]
    assert stamps == sorted(stamps, reverse=True)
    desc = execute(
        client, document, input={"first": 5, "orderBy": {"field": "name", "direction": "DESC"}}
    )
    desc_ids = [e["node"]["name"] for e in desc["searchStacks"]["edges"]]
    assert desc_ids == names[::-1][:5]
    after_desc = execute(
        client,
        document,
        input={"first": 5, "after": desc["searchStacks"]["pageInfo"]["endCursor"],
               "orderBy": {"field": "name", "direction": "DESC"}},
    )["searchStacks"]["edges"]  # fmt: skip
    assert [e["node"]["name"] for e in after_desc] == names[::-1][5:10]

    with pytest.raises(TransportQueryError, match='unknown predicate field "colour"'):
        execute(
            client,
            document,
            input={"predicates": [{"field": "colour", "constraint": {"stringMatches": ["x"]}}]},
        )


def test_viewer_and_unknown_ids(client):
    viewer = execute(client, "{ viewer { id name jwt validUntil } }")["viewer"]
    assert viewer["id"] == DEFAULT_KEY_ID and viewer["validUntil"] > 0
    assert execute(client, '{ stack(id: "no-such-stack") { id } }')["stack"] is None
    with pytest.raises(TransportQueryError) as caught:
        execute(client, '{ runStack(runId: "01ZZZZZZZZZZZZZZZZZZZZZZZZ") { id } }')
    assert caught.value.errors[0]["message"] == "not found"
    assert caught.value.errors[0]["path"] == ["runStack"]


def test_bad_input_gets_graphql_errors_not_tracebacks(server, token):
    unknown_field = post(server, "{ stacks { colour } }", token=token)
    assert unknown_field.status_code == 200
    error = unknown_field.json()["errors"][0]
    assert "Cannot query field 'colour' on type 'Stack'" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 12}]

    wrong_type = post(server, "query($x: String!) { stack(id: $x) { id } }", {"x": "a"}, token)
    message = wrong_type.json()["errors"][0]["message"]
    assert "Variable '$x' of type 'String!' used in position expecting type 'ID!'" in message

    bad_value = post(
        server,
        "query($x: Int) { searchStacks(input: {first: $x}) { pageInfo { hasNextPage } } }",
        {"x": "ten"},
        token,
    )
    assert "Int cannot represent non-integer value" in bad_value.json()["errors"][0]["message"]

    not_found = post(server, 'mutation { runTrigger(stack: "no-such-stack") { id } }', token=token)
    assert not_found.json() == {
        "data": None,
        "errors": [
            {
                "message": "not found",
                "locations": [{"line": 1, "column": 12}],
                "path": ["runTrigger"],
            }
        ],
    }

    malformed = requests.post(
        server.graphql_url,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert malformed.status_code == 400
    assert "Traceback" not in malformed.text
    assert requests.post(server.graphql_url, json=[1, 2], timeout=30).status_code == 400
    syntax = post(server, "{ stacks { id }", token=token)
    assert syntax.status_code == 200 and "Syntax Error" in syntax.json()["errors"][0]["message"]
    assert requests.get(server.graphql_url, timeout=30).status_code == 405


def test_unexpected_resolver_failure_is_a_generic_error(server, token, world, monkeypatch):
    def explode(*_args, **_kwargs):
        raise KeyError("internal detail")

    monkeypatch.setattr(world, "all_stacks", explode)
    answer = post(server, "{ stacks { id } }", token=token)
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["message"] == "internal server error"
    assert "internal detail" not in answer.text
