"""Identify the caller from a header set by a trusted auth proxy (such as oauth2-proxy)."""

from __future__ import annotations

import logging

from flask import Request

from host.auth import Principal, address_in
from host.hookspecs import hookimpl
from host.plugins import Host

log = logging.getLogger("greenroom.auth")


@hookimpl(trylast=True)
def principal_from_request(host: Host, request: Request) -> Principal | None:
    settings = (host.config.peek("auth.providers") or {}).get("proxy") if host.config else None
    if not settings:
        return None
    name = (request.headers.get(settings["header"]) or "").strip()
    if not name:
        return None
    if not address_in(request.remote_addr, settings.get("trustedProxies") or []):
        log.warning(
            "ignored %s header from untrusted address %s", settings["header"], request.remote_addr
        )
        return None
    groups: list[str] = []
    if settings.get("groupsHeader"):
        raw = request.headers.get(settings["groupsHeader"]) or ""
        groups = [g.strip() for g in raw.split(",") if g.strip()]
    return Principal(
        kind="user", name=name, groups=frozenset(groups), via="proxy", provider="proxy"
    )
