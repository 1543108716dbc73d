"""Per-plugin services: config, namespaced cache, HTTP session, logger and in-process API client."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from werkzeug.test import Client

from host.auth import Principal, current_principal, issue_internal_token
from host.config import Config
from host.database import PluginDatabase

if TYPE_CHECKING:
    from host.plugins import Host

DEFAULT_TIMEOUT = (5.0, 10.0)  # connect, read


class TimeoutAdapter(HTTPAdapter):
    """An HTTPAdapter that fills in a default timeout: requests has none of its own."""

    def __init__(self, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, **kwargs: Any):
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_http_session(
    plugin_id: str, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT
) -> requests.Session:
    """A requests.Session with default timeouts and a User-Agent naming the plugin."""
    from host import __version__

    session = requests.Session()
    adapter = TimeoutAdapter(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"greenroom/{__version__} (plugin {plugin_id})"
    return session


class PluginCache:
    """The shared cache, with every key namespaced by the plugin id.

    Values must be picklable. With `backend.cache.store: redis` the cache is shared by every
    worker and instance; `lock()` then holds across processes too.
    """

    def __init__(self, backend: Any, namespace: str):
        self._backend = backend
        self.namespace = namespace
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def get(self, key: str) -> Any:
        """The value at `key`, or None."""
        return self._backend.get(self._key(key))

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store `value` for `ttl` seconds (None: the configured default)."""
        self._backend.set(self._key(key), value, timeout=_ttl(ttl))

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Store `value` only if `key` is absent; True when it was stored."""
        return bool(self._backend.add(self._key(key), value, timeout=_ttl(ttl)))

    def delete(self, key: str) -> None:
        """Remove `key`."""
        self._backend.delete(self._key(key))

    def _local_lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    @contextlib.contextmanager
    def lock(self, key: str, ttl: float = 30, wait: float = 30) -> Iterator[bool]:
        """Hold the lock `key` in this process and, through the cache, across processes.

        The cache entry expires after `ttl` seconds, so a dead holder cannot block others.
        Yields True when the lock was won within `wait` seconds, else False (go on without it).
        """
        local = self._local_lock(key)
        deadline = time.monotonic() + wait
        if not local.acquire(timeout=wait):
            yield False
            return
        token = uuid.uuid4().hex
        won = False
        try:
            while True:
                if self.add(f"lock:{key}", token, ttl):
                    won = True
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
            yield won
        finally:
            if won and self.get(f"lock:{key}") == token:
                self.delete(f"lock:{key}")
            local.release()


def _ttl(ttl: float | None) -> int | None:
    if ttl is None:
        return None
    return max(1, int(round(ttl)))


@dataclass
class ApiResponse:
    """The answer of an in-process API call."""

    status: int
    json: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any] | None:
        """The `error` object of a JSON error response, if any."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"]
        return None


class ApiClient:
    """Calls /api/<backend>/... through the WSGI app, on behalf of the current user.

    No network hop: the request crosses the same barrier as an external one, carrying a
    short-lived internal token for the principal of the current request.
    """

    def __init__(self, host: Host, caller: str):
        self._host = host
        self._caller = caller

    def request(
        self,
        method: str,
        backend: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        principal: Principal | None = None,
    ) -> ApiResponse:
        """Send `method` to /api/<backend><path> as `principal` (default: the current one)."""
        who = principal or current_principal()
        if who is None:
            raise RuntimeError("ctx.api needs a principal: call it while serving a signed-in request")
        token = issue_internal_token(who, backend)
        client = Client(self._host.app)
        if not path.startswith("/"):
            path = "/" + path
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        response = client.open(
            f"/api/{backend}{path}",
            method=method,
            query_string=query,
            json=json,
            headers={"Authorization": f"Bearer {token}", "X-Greenroom-Caller": self._caller},
        )
        try:
            body = response.get_json(silent=True)
        finally:
            response.close()
        return ApiResponse(status=response.status_code, json=body, headers=dict(response.headers))

    def get(self, backend: str, path: str, **kwargs: Any) -> ApiResponse:
        """GET /api/<backend><path>."""
        return self.request("GET", backend, path, **kwargs)

    def post(self, backend: str, path: str, **kwargs: Any) -> ApiResponse:
        """POST /api/<backend><path>."""
        return self.request("POST", backend, path, **kwargs)


@dataclass
class PluginContext:
    """What the host gives one plugin's `setup(ctx)`."""

    id: str
    kind: str
    config: Config
    cache: PluginCache
    http: requests.Session
    logger: logging.Logger
    api: ApiClient
    host: Host
    db: PluginDatabase | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def authorize(self, action: str, resource: Any = None, principal: Principal | None = None) -> bool:
        """May `principal` (default: the current one) take `action` on `resource`?"""
        return self.host.authorize(principal or current_principal(), action, resource)


