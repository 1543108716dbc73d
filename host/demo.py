"""`greenroom demo`: a development portal with guest sign-in, and the Spacelift simulator when
a Spacelift plugin is installed, so runs move while you watch."""

from __future__ import annotations

import importlib.util
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import click
from werkzeug.serving import make_server

from host.app import create_app


def demo_config(sim_url: str | None, key_id: str | None, key_secret: str | None) -> dict[str, Any]:
    """The demo's config: guest sign-in (the guest is an admin), and Spacelift if simulated."""
    cfg: dict[str, Any] = {
        "app": {"title": "Greenroom demo", "environment": "development"},
        "backend": {"secret": secrets.token_urlsafe(32)},
        "auth": {"providers": {"guest": {}}},
        "permission": {"admins": ["guest"]},
    }
    if sim_url:
        cfg["spacelift"] = {
            "hostUrl": sim_url,
            "apiKey": key_id,
            "apiSecret": key_secret,
            "pollIntervalSeconds": 5,
        }
    return cfg


@dataclass
class _Simulator:
    url: str
    key_id: str
    key_secret: str
    stop: Any


def _start_simulator(port: int, stacks: int) -> _Simulator | None:
    """Serve a living simulated Spacelift on loopback: runs advance every few seconds."""
    if importlib.util.find_spec("spacelift_sim") is None:
        return None
    from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, World
    from spacelift_sim import create_app as create_sim

    world = World(stacks=stacks, seed=42, activity=0.02)
    world.prepare()
    sim = create_sim(world, tick_seconds=3.0)
    server = make_server("127.0.0.1", port, sim, threaded=True)
    threading.Thread(target=server.serve_forever, name="spacelift-sim", daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        sim.extensions["spacelift_sim"].stop()

    return _Simulator(f"http://127.0.0.1:{server.server_port}", DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, stop)


def run_demo(port: int = 7007, sim_port: int = 0, stacks: int = 40) -> None:
    """Start the simulator (if there is a Spacelift plugin) and the portal; block until Ctrl-C."""
    from host.app import build_host

    probe = build_host({"app": {"environment": "development"}}, environment="development")
    wants_spacelift = any(r.id == "spacelift" and r.status == "ok" for r in probe.records)
    sim = _start_simulator(sim_port, stacks) if wants_spacelift else None
    sim_host = None
    if sim is not None:
        sim_host = sim.url.split("://", 1)[1]
        click.echo(f"Spacelift simulator: {sim.url}/graphql (runs move every 3 s)")
    cfg = demo_config(sim_host, sim.key_id if sim else None, sim.key_secret if sim else None)
    app = create_app(cfg, environment="development", instance_path=os.path.abspath("instance"))
    server = make_server("127.0.0.1", port, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}/"
    click.echo(f"Greenroom demo is up. Open {url} and choose 'Enter as guest'. Ctrl-C stops it.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if sim is not None:
            sim.stop()
