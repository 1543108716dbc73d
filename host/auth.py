"""Identity and access: principals, the /api barrier, page sign-in guard, CSRF, internal tokens."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from flask import current_app, g, redirect, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

    from host.plugins import Host

INTERNAL_TOKEN_PREFIX = "gri_"
INTERNAL_TOKEN_MAX_AGE = 60
CSRF_HEADER = "X-CSRF-Token"
FRAGMENT_HEADER = "X-Greenroom-Fragment"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Credentials a browser sends by itself: these need a CSRF token on unsafe methods.
AMBIENT = frozenset({"session", "proxy"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user, or a service holding a static token."""

    kind: Literal["user", "service"]
    name: str
    groups: frozenset[str] = frozenset()
    display_name: str | None = None
    via: str = "session"  # session | proxy | token | internal
    # plugin ids a service token may reach; None means unrestricted
    restrictions: frozenset[str] | None = None
    provider: str | None = None

    @property
    def id(self) -> str:
        """The principal's reference: "user:<name>" or "service:<subject>"."""
        return f"{self.kind}:{self.name}"

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def as_claims(self) -> dict[str, Any]:
        return {
            "k": self.kind,
            "n": self.name,
            "g": sorted(self.groups),
            "d": self.display_name,
            "r": sorted(self.restrictions) if self.restrictions is not None else None,
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any], via: str) -> Principal:
        r = claims.get("r")
        return cls(
            kind=claims["k"],
            name=claims["n"],
            groups=frozenset(claims.get("g") or ()),
            display_name=claims.get("d"),
            via=via,
            restrictions=frozenset(r) if r is not None else None,
        )


class InvalidCredentials(Exception):
    """Credentials were presented and are wrong: the request gets a 401, whatever else it has."""


def public_route(view: F) -> F:
    """Let a view answer without credentials (for /health-like routes that reveal nothing)."""
    view._greenroom_public = True  # type: ignore[attr-defined]
    return view


def is_public(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "_greenroom_public", False))


def current_principal() -> Principal | None:
    """The principal of the current request, or None."""
    return g.get("principal")


# -- internal tokens: ctx.api calls another plugin on behalf of the current user -------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="greenroom-internal-token")


def issue_internal_token(principal: Principal, audience: str) -> str:
    """A short-lived signed token that carries `principal` to backend `audience` only."""
    payload = {"p": principal.as_claims(), "aud": audience}
    return INTERNAL_TOKEN_PREFIX + _serializer().dumps(payload)


def verify_internal_token(token: str, audience: str) -> Principal:
    try:
        payload = _serializer().loads(
            token[len(INTERNAL_TOKEN_PREFIX) :], max_age=INTERNAL_TOKEN_MAX_AGE
        )
    except BadSignature as exc:
        raise InvalidCredentials("invalid or expired internal token") from exc
    if payload.get("aud") != audience:
        raise InvalidCredentials("internal token issued for another plugin")
    return Principal.from_claims(payload["p"], via="internal")


def constant_time_in(candidate: str, tokens: Iterable[str]) -> int | None:
    """Index of the token equal to `candidate`, comparing every one in constant time."""
    found = None
    for i, token in enumerate(tokens):
        if hmac.compare_digest(candidate.encode(), token.encode()):
            found = i
    return found


# -- CSRF ----------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(sent and expected and hmac.compare_digest(sent, expected))


# -- addresses -----------------------------------------------------------------------------


def address_in(addr: str | None, networks: Iterable[str]) -> bool:
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


# -- sign-in throttle ----------------------------------------------------------------------


@dataclass
class Throttle:
    """Counts failed sign-ins per key in a sliding window, in the host cache."""

    cache: Any
    max_failures: int = 5
    window: int = 300
    _prefix: str = field(default="host:throttle:")

    def _get(self, key: str) -> list[float]:
        now = time.time()
        return [t for t in (self.cache.get(self._prefix + key) or []) if now - t < self.window]

    def retry_after(self, *keys: str) -> int:
        """Seconds until every key is below the limit again (0 means go ahead)."""
        wait = 0.0
        now = time.time()
        for key in keys:
            stamps = self._get(key)
            if len(stamps) >= self.max_failures:
                wait = max(wait, stamps[-self.max_failures] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def fail(self, *keys: str) -> None:
        now = time.time()
        for key in keys:
            stamps = [*self._get(key), now][-self.max_failures * 2 :]
            self.cache.set(self._prefix + key, stamps, timeout=self.window)

    def clear(self, key: str) -> None:
        self.cache.delete(self._prefix + key)


# -- the barrier ---------------------------------------------------------------------------


def identify(host: Host) -> Principal | None:
    return host.pm.hook.principal_from_request(host=host, request=request)


def api_plugin_id(path: str) -> str | None:
    """"/api/hello/greet" -> "hello"."""
    parts = path.split("/", 3)
    if len(parts) >= 3 and parts[1] == "api" and parts[2]:
        return parts[2]
    return None


def barrier(host: Host) -> ResponseReturnValue | None:
    """Runs before every request: identify the caller and refuse what it may not do."""
    from host.errors import api_error  # local: errors imports auth

    g.principal = None
    view = current_app.view_functions.get(request.endpoint) if request.url_rule else None
    is_api = request.path == "/api" or request.path.startswith("/api/")
    if is_api:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            return api_error(413, "payload_too_large", f"request body is over {limit} bytes")
    try:
        principal = identify(host)
    except InvalidCredentials as exc:
        if is_api:
            return api_error(401, "unauthorized", f"invalid credentials: {exc}")
        return _page_unauthorized(str(exc))
    g.principal = principal

    if is_api:
        if is_public(view):
            return None
        if principal is None:
            return api_error(401, "unauthorized", "sign in, or send Authorization: Bearer <token>")
        plugin_id = api_plugin_id(request.path)
        if principal.restrictions is not None and plugin_id not in principal.restrictions:
            return api_error(
                403, "forbidden", f"this token may not call the {plugin_id!r} plugin"
            )
        if request.method in UNSAFE_METHODS and principal.via in AMBIENT:
            if not csrf_ok(request.headers.get(CSRF_HEADER)):
                return api_error(
                    403, "csrf_failed", f"missing or wrong {CSRF_HEADER} header for a cookie session"
                )
        return None

    # pages
    if is_public(view) or (request.endpoint or "").endswith("static"):
        return None
    if principal is None or principal.kind != "user":
        return _page_unauthorized(None)
    if request.method in UNSAFE_METHODS and principal.via in AMBIENT:
        sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")
        if not csrf_ok(sent):
            from flask import abort

            abort(400, description="This form has expired. Reload the page and try again.")
    return None


def _page_unauthorized(reason: str | None) -> ResponseReturnValue:
    from flask import abort

    if request.method != "GET" or request.headers.get(FRAGMENT_HEADER):
        abort(401, description=reason or "Sign in to continue.")
    if reason:
        abort(401, description=f"Invalid credentials: {reason}")
    return redirect(url_for("host.login", next=request.full_path.rstrip("?")))
