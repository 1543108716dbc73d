"""A simulator and a portal with the Spacelift plugins, both on loopback, for browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask
from werkzeug.security import generate_password_hash

import spacelift_backend.plugin as backend_plugin
import spacelift_frontend.plugin as frontend_plugin
from host.testing import deep_merge, make_app, serve
from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, World
from spacelift_sim import create_app as create_sim
from spacelift_sim.testing import ServerHandle, run_in_thread

API_TOKEN = "e2e-spacelift-token-0123456789"


@dataclass
class SpaceliftEnv:
    world: World
    sim: ServerHandle
    app: Flask
    url: str

    def sim_post(self, path: str, body: Any) -> Any:
        response = requests.post(f"{self.sim.url}/_sim/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def sim_stats(self) -> dict[str, Any]:
        return requests.get(f"{self.sim.url}/_sim/stats", timeout=10).json()

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/api/spacelift{path}", timeout=10,
                                headers={"Authorization": f"Bearer {API_TOKEN}"}, **kwargs)


BASE_CONFIG: dict[str, Any] = {
    "backend": {"auth": {"externalAccess": [
        {"type": "static", "options": {"token": API_TOKEN, "subject": "e2e"}}]}},
    # The test's service token may act; the guest is an admin (host.testing's default).
    "permission": {"rules": [{"subjects": ["e2e"], "allow": ["spacelift.*"]}]},
}


PASSWORD = "e2e correct horse"
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # cheap: not under test

# Password users for permission tests: a viewer, a user allowed to trigger only, an admin (by
# group). Rules exist, so users read and need a rule for the rest; the e2e token keeps its rule.
TEAM: dict[str, Any] = {
    "auth": {"providers": {"password": {"users": {
        "vic": {"passwordHash": _HASH, "displayName": "Vic Viewer"},
        "tara": {"passwordHash": _HASH, "displayName": "Tara Trigger"},
        "ada": {"passwordHash": _HASH, "groups": ["platform"], "displayName": "Ada Admin"},
    }}}},
    "permission": {"admins": ["group:platform"], "rules": [
        {"subjects": ["e2e"], "allow": ["spacelift.*"]},
        {"users": ["tara"], "allow": ["spacelift.run.trigger"]},
    ]},
}  # fmt: skip


def spacelift_config(sim: ServerHandle, **spacelift: Any) -> dict[str, Any]:
    block = {
        "hostUrl": sim.url.split("://", 1)[1],
        "apiKey": DEFAULT_KEY_ID,
        "apiSecret": DEFAULT_KEY_SECRET,
        "pollIntervalSeconds": 1,
        "cacheTtlSeconds": 0.5,
    }
    block.update(spacelift)
    return {"spacelift": block}


@contextmanager
def spacelift_env(stacks: int = 30, seed: int = 11, config: dict[str, Any] | None = None,
                  configured: bool = True, **spacelift: Any) -> Iterator[SpaceliftEnv]:
    """Start the simulator and the portal; stop both when the block ends."""
    world = World(stacks=stacks, seed=seed, activity=0)
    with ExitStack() as stack:
        sim = run_in_thread(create_sim(world))
        stack.callback(sim.stop)
        cfg = deep_merge(BASE_CONFIG, spacelift_config(sim, **spacelift) if configured else {})
        app = make_app(deep_merge(cfg, config or {}), plugins=[backend_plugin, frontend_plugin])
        server = stack.enter_context(serve(app))
        yield SpaceliftEnv(world=world, sim=sim, app=app, url=server.url)
