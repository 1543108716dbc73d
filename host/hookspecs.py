"""The plugin contract: pluggy hook specifications. Implement them with `@host.hookimpl`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import jinja2
    from flask import Request

    from host.auth import Principal
    from host.plugins import BackendPlugin, FrontendPlugin, Host

PROJECT = "greenroom"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- declaring plugins ---------------------------------------------------------------------


@hookspec
def register_backend_plugins(host: Host) -> list[BackendPlugin]:
    """Return the backend plugins this module provides (mounted at /api/<id>)."""


@hookspec
def register_frontend_plugins(host: Host) -> list[FrontendPlugin]:
    """Return the frontend plugins this module provides (pages at /<id>, nav entries)."""


# -- lifecycle -----------------------------------------------------------------------------


@hookspec
def startup(host: Host) -> None:
    """Called once after every plugin is set up and mounted."""


# -- identity and access -------------------------------------------------------------------


@hookspec(firstresult=True)
def principal_from_request(host: Host, request: Request) -> Principal | None:
    """Identify the caller; return None to pass, raise InvalidCredentials to force a 401."""


@hookspec(firstresult=True)
def permission_allowed(
    host: Host, principal: Principal | None, action: str, resource: Any
) -> bool | None:
    """Decide whether `principal` may take `action` on `resource`; None means no opinion."""


# -- pages ---------------------------------------------------------------------------------


@hookspec
def extra_template_vars(
    host: Host, request: Request, template_name: str, principal: Principal | None
) -> dict[str, Any] | None:
    """Return extra variables for every rendered template."""


@hookspec
def prepare_jinja2_environment(host: Host, env: jinja2.Environment) -> None:
    """Add filters, tests or globals to the Jinja environment."""
