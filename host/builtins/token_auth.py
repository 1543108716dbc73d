"""Identify the caller from `Authorization: Bearer`: static external-access or internal tokens.

A bearer token that is present but wrong is a 401, even when a valid session cookie is sent too.
"""

from __future__ import annotations

from flask import Request

from host.auth import (
    INTERNAL_TOKEN_PREFIX,
    InvalidCredentials,
    Principal,
    api_plugin_id,
    constant_time_in,
    verify_internal_token,
)
from host.hookspecs import hookimpl
from host.plugins import Host


@hookimpl(trylast=True)
def principal_from_request(host: Host, request: Request) -> Principal | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidCredentials("the Authorization header must be 'Bearer <token>'")
    if token.startswith(INTERNAL_TOKEN_PREFIX):
        return verify_internal_token(token, api_plugin_id(request.path) or "")
    entries = (host.config.peek("backend.auth.externalAccess") if host.config else None) or []
    index = constant_time_in(token, [e["options"]["token"] for e in entries])
    if index is None:
        raise InvalidCredentials("unknown bearer token")
    entry = entries[index]
    restrictions = entry.get("accessRestrictions")
    return Principal(
        kind="service",
        name=entry["options"]["subject"],
        via="token",
        restrictions=(
            frozenset(r["plugin"] for r in restrictions) if restrictions is not None else None
        ),
    )
