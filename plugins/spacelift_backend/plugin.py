"""Entry point of the spacelift_backend plugin: declares the backend, wires nothing else.

The routes live in routes.py, the service that talks to Spacelift in service.py and client.py.
"""

from __future__ import annotations

from typing import Any

from host import BackendPlugin, hookimpl
from spacelift_backend.config import SCHEMA
from spacelift_backend.routes import create_blueprint


@hookimpl
def register_backend_plugins(host: Any) -> list[BackendPlugin]:
    return [
        BackendPlugin(
            id="spacelift",
            setup=create_blueprint,
            config_schema=SCHEMA,
            default_user_actions=("spacelift.stack.read", "spacelift.run.trigger"),
        )
    ]
