"""Shared helpers for the spacelift_backend tests: a simulator on loopback and an app over it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask
from werkzeug.security import generate_password_hash

import spacelift_backend.plugin as spacelift_plugin
from host.testing import deep_merge, make_app, sign_in
from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, World, create_app
from spacelift_sim.testing import ServerHandle, run_in_thread

TOKEN = "spacelift-backend-test-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API = "/api/spacelift"
STATIC_TOKEN_CONFIG: dict[str, Any] = {
    "backend": {
        "auth": {
            "externalAccess": [{"type": "static", "options": {"token": TOKEN, "subject": "ci"}}]
        }
    }
}


@dataclass
class Sim:
    """A running simulator and its world, with the controls tests use."""

    world: World
    server: ServerHandle

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def host_url(self) -> str:
        """What goes in spacelift.hostUrl: bare host:port (loopback, so plain http)."""
        return self.server.url.removeprefix("http://").removeprefix("https://")

    def stats(self) -> dict[str, Any]:
        return requests.get(self.url + "/_sim/stats", timeout=5).json()

    def op(self, name: str) -> int:
        return int(self.stats()["operations"].get(name, 0))

    def reset_stats(self) -> None:
        requests.post(self.url + "/_sim/stats/reset", timeout=5).raise_for_status()

    def fault(self, mode: str, latency_ms: int = 0) -> dict[str, Any]:
        response = requests.post(
            self.url + "/_sim/faults", json={"mode": mode, "latency_ms": latency_ms}, timeout=5
        )
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        requests.post(self.url + "/_sim/reset", timeout=5).raise_for_status()
        self.reset_stats()

    def restore(self) -> None:
        """Undo what a test may have changed: a fault, or the simulator's key."""
        self.fault("none")
        self.world.tokens.key_id = DEFAULT_KEY_ID
        self.world.tokens.key_secret = DEFAULT_KEY_SECRET

    def upsert(self, **fields: Any) -> dict[str, Any]:
        response = requests.post(self.url + "/_sim/stacks", json=fields, timeout=5)
        response.raise_for_status()
        return response.json()

    def tick(self, steps: int = 1) -> None:
        requests.post(self.url + "/_sim/tick", json={"steps": steps}, timeout=5).raise_for_status()


@contextmanager
def running_sim(
    *, strict_401: bool = False, ssl_context: Any = None, **world_kwargs: Any
) -> Iterator[Sim]:
    """A seeded, still world (no random pushes) of 20 stacks, served on 127.0.0.1."""
    options: dict[str, Any] = {"stacks": 20, "seed": 7, "activity": 0}
    options.update(world_kwargs)
    world = World(**options)
    server = run_in_thread(create_app(world, strict_401=strict_401), ssl_context=ssl_context)
    try:
        yield Sim(world, server)
    finally:
        server.stop()


def spacelift_block(sim: Sim, **overrides: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "hostUrl": sim.host_url,
        "apiKey": DEFAULT_KEY_ID,
        "apiSecret": DEFAULT_KEY_SECRET,
    }
    block.update(overrides)
    return block


def backend_app(
    sim: Sim | None, config: Mapping[str, Any] | None = None, **spacelift: Any
) -> Flask:
    """An app with only the spacelift backend plugin, a static token and the guest provider."""
    merged = deep_merge(STATIC_TOKEN_CONFIG, config or {})
    if sim is not None:
        merged = deep_merge(merged, {"spacelift": spacelift_block(sim, **spacelift)})
    return make_app(merged, plugins=[spacelift_plugin])


def run_concurrently(count: int, task: Callable[[int], Any]) -> list[Any]:
    """Run task(i) for i < count on `count` threads released together; results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = task(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# -- people and runs for the action, audit and admin tests --------------------------------------

PASSWORD = "correct horse battery"
# A cheap hash: tests sign in often, and the hash's cost is not what they test.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

# A viewer, a user allowed to trigger only, an admin (by group), and the static token "ci" that
# no rule names: the four principals of the permission matrix.
TEAM: dict[str, Any] = {
    "auth": {"providers": {"password": {"users": {
        "vic": {"passwordHash": PASSWORD_HASH, "groups": ["viewers"]},
        "tara": {"passwordHash": PASSWORD_HASH, "displayName": "Tara Trigger"},
        "ada": {"passwordHash": PASSWORD_HASH, "groups": ["platform"], "displayName": "Ada Admin"},
    }}}},
    "permission": {"admins": ["group:platform"],
                   "rules": [{"users": ["tara"], "allow": ["spacelift.run.trigger"]}]},
}  # fmt: skip


def signed_in(app: Flask, name: str) -> Any:
    """A test client signed in as the password user `name`; `.csrf` holds its CSRF token."""
    client = app.test_client()
    client.csrf = sign_in(client, provider="password", username=name, password=PASSWORD)
    return client


def run_state(world: World, stack_id: str, run_id: str) -> str:
    run = world.run(world.stack(stack_id), run_id)
    assert run is not None
    return run.state


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A database of the test's own: `url` itself for SQLite (a file per test), a new database
    on the same server for PostgreSQL (dropped afterwards), so that tests sharing the session's
    server never see each other's settings or audit rows."""
    if not url.startswith("postgresql"):
        yield url
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield url.rsplit("/", 1)[0] + "/" + name
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def second_sim(stacks: int = 4, seed: int = 99, secret: str = "second-sim-secret-0123") -> Sim:
    """Another Spacelift account: other stacks, another API key (stop it with .server.stop())."""
    world = World(stacks=stacks, seed=seed, activity=0, key_id=OTHER_KEY_ID, key_secret=secret)
    return Sim(world, run_in_thread(create_app(world)))


OTHER_KEY_ID = "01OTHERKEY00000000000000BB"
