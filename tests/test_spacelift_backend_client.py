"""The client: its GraphQL documents are valid for Spacelift's schema, it is safe to share
between threads, and it logs one line per upstream call (operation, duration, cache)."""

from __future__ import annotations

import logging
import re
from importlib import resources

import pytest
import requests
from flask_caching.backends.simplecache import SimpleCache
from graphql import OperationDefinitionNode, build_schema, parse, validate
from spacelift_backend_support import API, AUTH, backend_app, run_concurrently

from host import PluginCache
from spacelift_backend import queries
from spacelift_backend.client import SpaceliftClient
from spacelift_backend.config import Settings
from spacelift_backend.token_manager import TokenManager

SDL = resources.files("spacelift_sim").joinpath("schema.graphql").read_text(encoding="utf-8")


pytestmark = pytest.mark.usefixtures("fresh_sim")


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_every_document_is_valid_against_the_schema(name):
    document = parse(queries.ALL[name])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert [op.name.value for op in operations] == [name]
    assert validate(build_schema(SDL), document) == []
    if operations[0].operation.value == "query":
        # the dead-token guard: every query asks who the caller is
        assert "viewer" in [s.name.value for s in operations[0].selection_set.selections]


def make_client(sim) -> SpaceliftClient:
    settings = Settings.from_config(
        {"hostUrl": sim.host_url, "apiKey": "01SIMKEY0000000000000000AA", "apiSecret": "sim-secret"}
    )
    cache = PluginCache(SimpleCache(), "plugin:spacelift")
    return SpaceliftClient(
        settings, requests.Session(), logging.getLogger("test.spacelift"),
        lambda exchange: TokenManager(cache, exchange, wait=10),
    )  # fmt: skip


def test_one_client_serves_many_threads_at_once(sim):
    """gql's Client refuses to connect a transport twice; ours builds one per call."""
    client = make_client(sim)
    ids = [s.id for s in sim.world.all_stacks()]
    results = run_concurrently(
        24, lambda i: client.query("GreenroomStack", queries.STACK, {"id": ids[i % len(ids)]})
    )
    assert [r["stack"]["id"] for r in results] == [ids[i % len(ids)] for i in range(24)]
    assert sim.op("stack") == 24 and sim.op("apiKeyUser") == 1


def test_one_log_line_per_upstream_call_and_per_cache_hit(sim, caplog):
    caplog.set_level(logging.DEBUG, logger="greenroom.plugins.spacelift")
    app = backend_app(sim, cacheTtlSeconds=30)
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"{API}/stacks", headers=AUTH).status_code == 200
    stack_id = sim.world.all_stacks()[0].id
    assert client.get(f"{API}/stacks/{stack_id}", headers=AUTH).status_code == 200
    calls = [r.getMessage() for r in caplog.records if "cache=miss" in r.getMessage()]
    hits = [r.getMessage() for r in caplog.records if "cache=hit" in r.getMessage()]
    assert len(calls) == sim.stats()["requests"] == 3  # token, stacks, one stack
    pattern = re.compile(r"^spacelift call op=(\w+) duration_ms=\d+ cache=miss outcome=ok$")
    assert [pattern.match(line).group(1) for line in calls] == [
        "GreenroomToken", "GreenroomStacks", "GreenroomStack"]  # fmt: skip
    assert len(hits) == 2 and all(h.startswith("spacelift op=stacks cache=hit age_ms=") for h in hits)
    levels = {r.levelname for r in caplog.records if "cache=miss" in r.getMessage()}
    assert levels == {"INFO"}
