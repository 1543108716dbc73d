"""The response cache: Spacelift answers shared by every viewer for `cacheTtlSeconds`.

One entry per query and variables, in the shared cache (memory or Redis): N people polling
cost about one upstream query per TTL, not N. A miss is fetched by a single caller per key
(`PluginCache.lock`); the others wait and read what it stored. When a fetch fails, the last
good answer (kept `stale_for` seconds, 10 minutes by default) is served marked stale, with the
error and the time it was fetched. A failure never stores anything, so a stale answer is never
replaced by an empty one.

Each process keeps its last decoded answers. Next to every answer the cache holds a small stamp
(when it was fetched, until when it is fresh); a read fetches the stamp and reuses the decoded
copy while the stamp is the copy's own, so a large answer (10,000 stacks) is fetched and
unpickled once per change in each process, not on every request, and a change made by any
process is still seen at once. Answers are shared between requests: never change one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from host import PluginCache
from spacelift_backend.errors import SpaceliftFailure

STALE_FOR = 600.0
# Failures are remembered briefly so that callers who queued behind a failing fetch get its
# error instead of each trying again in turn; a caller arriving later always tries afresh.
FAILURE_MEMORY = 60.0
# Decoded answers kept per process and connection (stack list, stacks, runs...), oldest dropped.
LOCAL_COPIES = 64


@dataclass(frozen=True)
class Cached:
    """An answer from the cache or from Spacelift."""

    data: Any
    fetched_at: float  # Unix seconds
    stale: bool = False
    error: SpaceliftFailure | None = None
    hit: bool = False


def cache_key(name: str, variables: dict[str, Any] | None = None) -> str:
    """A stable key for an operation and its variables."""
    blob = json.dumps({"op": name, "vars": variables or {}}, sort_keys=True, default=str)
    return name + ":" + hashlib.sha256(blob.encode()).hexdigest()[:32]


class ResponseCache:
    """get-or-fetch with single flight and a stale fallback, over a `PluginCache`."""

    def __init__(
        self,
        cache: PluginCache,
        ttl: float,
        *,
        lock_wait: float,
        logger: logging.Logger,
        stale_for: float = STALE_FOR,
    ):
        self.cache = cache
        self.ttl = ttl
        self.lock_wait = lock_wait
        self.logger = logger
        self.stale_for = stale_for
        self._copies: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._copies_guard = threading.Lock()

    def _read(self, key: str) -> dict[str, Any] | None:
        stamp = self.cache.get("stamp:" + key)
        if stamp is not None:
            with self._copies_guard:
                copy = self._copies.get(key)
                if copy is not None and _stamp(copy) == tuple(stamp):
                    self._copies.move_to_end(key)
                    return copy
        entry = self.cache.get("resp:" + key)
        if not (isinstance(entry, dict) and "data" in entry):
            return None
        self._keep(key, entry)
        return entry

    def _write(self, key: str, entry: dict[str, Any], ttl: float) -> None:
        """Store an entry, then its stamp: a reader that sees the new stamp reads the new entry."""
        self.cache.set("resp:" + key, entry, ttl=ttl)
        self.cache.set("stamp:" + key, _stamp(entry), ttl=ttl)
        self._keep(key, entry)

    def _keep(self, key: str, entry: dict[str, Any]) -> None:
        with self._copies_guard:
            self._copies[key] = entry
            self._copies.move_to_end(key)
            while len(self._copies) > LOCAL_COPIES:
                self._copies.popitem(last=False)

    def get(
        self,
        name: str,
        variables: dict[str, Any] | None,
        fetch: Callable[[], Any],
        *,
        ttl: float | None = None,
    ) -> Cached:
        """The fresh answer for (name, variables), fetching it once if needed.

        Raises the fetch's SpaceliftFailure when there is no last good answer to fall back on
        (or when the failure is one that stale data must not hide, such as a 404).
        """
        key = cache_key(name, variables)
        ttl = self.ttl if ttl is None else ttl
        entry = self._read(key)
        if entry is not None and time.time() < entry["freshUntil"]:
            return self._hit(name, entry)
        asked_at = time.time()
        with self.cache.lock("flight:" + key, ttl=self.lock_wait, wait=self.lock_wait) as won:
            entry = self._read(key)
            if entry is not None and time.time() < entry["freshUntil"]:
                return self._hit(name, entry)  # fetched by the caller we queued behind
            failure = self.cache.get("fail:" + key)
            if isinstance(failure, dict) and failure.get("at", 0) >= asked_at:
                return self._fallback(entry, failure["error"])
            if not won:
                error = SpaceliftFailure(
                    "timeout", "another request has been fetching this from Spacelift for too long"
                )
                return self._fallback(entry, error)
            try:
                data = fetch()
            except SpaceliftFailure as exc:
                self.cache.set(
                    "fail:" + key, {"at": time.time(), "error": exc}, ttl=FAILURE_MEMORY
                )
                return self._fallback(entry, exc)
            now = time.time()
            self._write(
                key, {"data": data, "fetchedAt": now, "freshUntil": now + ttl}, ttl + self.stale_for
            )
            self.cache.delete("fail:" + key)
            return Cached(data=data, fetched_at=now)

    def _hit(self, name: str, entry: dict[str, Any]) -> Cached:
        self.logger.debug(
            "spacelift op=%s cache=hit age_ms=%d", name, (time.time() - entry["fetchedAt"]) * 1000
        )
        return Cached(data=entry["data"], fetched_at=entry["fetchedAt"], hit=True)

    def _fallback(self, entry: dict[str, Any] | None, error: SpaceliftFailure) -> Cached:
        if entry is None or not error.serve_stale:
            raise error
        return Cached(data=entry["data"], fetched_at=entry["fetchedAt"], stale=True, error=error)

    def invalidate(self, name: str, variables: dict[str, Any] | None = None) -> None:
        """Make the entry due for a refetch now, keeping it as the last good answer."""
        key = cache_key(name, variables)
        entry = self._read(key)
        if entry is not None:
            # A new dict: the one read may be this process's copy, shared with other requests.
            self._write(key, {**entry, "freshUntil": 0.0}, self.stale_for)


def _stamp(entry: dict[str, Any]) -> tuple[float, float]:
    """What tells one stored answer from another: when it was fetched, until when it is fresh."""
    return (float(entry["fetchedAt"]), float(entry["freshUntil"]))
