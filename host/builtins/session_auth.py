"""Identify the caller from the signed session cookie set by a sign-in provider."""

from __future__ import annotations

import time
from typing import Any

from flask import Request, session

from host.auth import Principal
from host.hookspecs import hookimpl
from host.plugins import Host


@hookimpl(trylast=True)
def principal_from_request(host: Host, request: Request) -> Principal | None:
    uid = session.get("uid")
    provider = session.get("provider")
    if not uid or not provider or host.config is None:
        return None
    max_age = host.config.peek("auth.session.maxAgeHours", 12) * 3600
    if time.time() - float(session.get("iat", 0)) > max_age:
        return None
    providers: dict[str, Any] = host.config.peek("auth.providers") or {}
    settings = providers.get(provider)
    if settings is None:
        return None  # the provider was switched off: the session no longer counts
    groups = session.get("groups") or []
    if provider == "password":
        user = (settings.get("users") or {}).get(uid)
        if user is None:
            return None  # the user was removed from config
        groups = user.get("groups") or []
    return Principal(
        kind="user",
        name=uid,
        groups=frozenset(groups),
        display_name=session.get("display"),
        via="session",
        provider=provider,
    )
