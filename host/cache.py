"""The host's shared cache: Redis through flask-caching when configured, else per-process memory.

When Redis is unreachable, requests are still served: the cache falls back to a per-process
memory cache, logs a warning (at most every 30 s), retries Redis every few seconds, and
`/readyz` reports the outage. `add` is an atomic `SET NX EX` on Redis, so a lock whose holder
died expires by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from cachelib import SimpleCache

log = logging.getLogger("greenroom.cache")

try:  # redis is a dependency, but keep the memory store usable without it
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[misc,assignment]

_UNREACHABLE = (RedisError, OSError)


class SharedCache:
    """get / set / add / delete over a primary cache, with a per-process fallback for outages."""

    def __init__(self, primary: Any, *, shared: bool, retry_seconds: float = 5.0):
        self.primary = primary
        self.shared = shared
        self.fallback = SimpleCache(threshold=20000) if shared else primary
        self.retry_seconds = retry_seconds
        self._down_since: float | None = None
        self._next_try = 0.0
        self._last_warning = 0.0
        self._last_error = ""
        self._guard = threading.Lock()

    # -- outage bookkeeping ------------------------------------------------------------------

    def _use_primary(self) -> bool:
        return self._down_since is None or time.monotonic() >= self._next_try

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._guard:
            if self._down_since is None:
                self._down_since = now
            self._next_try = now + self.retry_seconds
            self._last_error = f"{type(exc).__name__}: {exc}"
            warn = now - self._last_warning >= 30
            if warn:
                self._last_warning = now
        if warn:
            log.warning(
                "the shared cache (Redis) is unreachable, serving from this process's cache: %s",
                self._last_error,
            )

    def _recovered(self) -> None:
        if self._down_since is not None:
            with self._guard:
                self._down_since = None
            log.warning("the shared cache (Redis) is reachable again")

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.shared and self._use_primary():
            try:
                result = getattr(self, f"_primary_{method}")(*args, **kwargs)
            except _UNREACHABLE as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return getattr(self.fallback, method)(*args, **kwargs)

    # -- the cache API -----------------------------------------------------------------------

    def get(self, key: str) -> Any:
        return self._call("get", key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self._call("set", key, value, timeout=timeout)

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        return bool(self._call("add", key, value, timeout=timeout))

    def delete(self, key: str) -> Any:
        return self._call("delete", key)

    def _primary_get(self, key: str) -> Any:
        return self.primary.get(key)

    def _primary_set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        return self.primary.set(key, value, timeout=timeout)

    def _primary_delete(self, key: str) -> Any:
        return self.primary.delete(key)

    def _primary_add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        # One atomic SET NX EX: cachelib's add is SETNX then EXPIRE, which leaves a key without
        # expiry if the process dies in between.
        client = self.primary._write_client
        ttl = self.primary._normalize_timeout(timeout)
        name = f"{self.primary._get_prefix()}{key}"
        dump = self.primary.serializer.dumps(value)
        return bool(client.set(name=name, value=dump, nx=True, ex=ttl if ttl > 0 else None))

    # -- health ------------------------------------------------------------------------------

    def problem(self) -> str | None:
        """None when the shared cache answers; else why not (for /readyz)."""
        if not self.shared:
            return None
        try:
            self.primary._read_client.ping()
        except _UNREACHABLE as exc:
            self._failed(exc)
            return f"Redis is unreachable ({type(exc).__name__}: {exc}); serving from per-process caches"
        self._recovered()
        return None
