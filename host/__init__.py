"""Greenroom's public API for plugin authors.

Everything a plugin imports comes from here: descriptors, the hook marker, principals and the
access helpers, the error type, live fragments and the services a plugin's `ctx` holds.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from host.auth import InvalidCredentials, Principal, current_principal, public_route
from host.config import Config, ConfigError, Field, Schema
from host.errors import ApiError, api_error
from host.hookspecs import hookimpl
from host.live import fragment_response
from host.plugins import BackendPlugin, FrontendPlugin, Host, NavItem
from host.services import ApiClient, ApiResponse, PluginCache, PluginContext

__version__ = "0.1.0"

__all__ = [
    "ApiClient",
    "ApiError",
    "ApiResponse",
    "BackendPlugin",
    "Config",
    "ConfigError",
    "Field",
    "FrontendPlugin",
    "Host",
    "InvalidCredentials",
    "NavItem",
    "PluginCache",
    "PluginContext",
    "Principal",
    "Schema",
    "__version__",
    "api_error",
    "authorize",
    "current_principal",
    "fragment_response",
    "hookimpl",
    "public_route",
]


def authorize(principal: Principal | None, action: str, resource: Any = None) -> bool:
    """May `principal` take `action` (such as "spacelift.run.trigger") on `resource`?

    The `permission_allowed` hooks decide (the built-in policy reads the `permission` config);
    no answer means no. Call it while serving a request of the current app.
    """
    host: Host = current_app.extensions["greenroom"]
    return host.authorize(principal, action, resource)
