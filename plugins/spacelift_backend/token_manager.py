"""The Spacelift JWT: exchanged once, kept in the shared cache until shortly before it expires.

Exactly one caller refreshes it: `PluginCache.lock` holds an in-process lock and, through the
cache, a cross-process one (Redis), and everyone re-reads the cache after waiting. Spacelift
bills every API key used in a cycle, and 50 cold requests must not mean 50 exchanges.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from host import PluginCache

# Refresh this long before validUntil: 60 s, or a quarter of the token's life if that is
# shorter (a 5 s token, as in tests, is refreshed after 3.75 s rather than never used).
MAX_MARGIN = 60.0
MARGIN_SHARE = 0.25

CACHE_KEY = "token"
LOCK_KEY = "token-refresh"


@dataclass(frozen=True)
class Token:
    """A JWT, Spacelift's `validUntil` (Unix seconds) and when we refresh it (local clock)."""

    jwt: str
    valid_until: int
    refresh_at: float

    @classmethod
    def issued(cls, jwt: str, valid_until: int, lifetime: int | None = None) -> Token:
        """A token just received. `lifetime` (exp - iat, Spacelift's clock) guards against a
        local clock that runs ahead or behind Spacelift's."""
        now = time.time()
        remaining = float(valid_until) - now
        if lifetime is not None:
            remaining = min(remaining, float(lifetime))
        margin = min(MAX_MARGIN, max(remaining, 0.0) * MARGIN_SHARE)
        return cls(jwt=jwt, valid_until=valid_until, refresh_at=now + remaining - margin)

    @property
    def usable(self) -> bool:
        return time.time() < self.refresh_at

    def as_cached(self) -> dict[str, Any]:
        return {"jwt": self.jwt, "validUntil": self.valid_until, "refreshAt": self.refresh_at}

    @classmethod
    def from_cached(cls, value: Any) -> Token | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(str(value["jwt"]), int(value["validUntil"]), float(value["refreshAt"]))
        except (KeyError, TypeError, ValueError):
            return None


class TokenManager:
    """Hands out a usable token; `exchange` is called by one caller at a time, and only when
    the cache holds no usable token."""

    def __init__(self, cache: PluginCache, exchange: Callable[[], Token], wait: float):
        self.cache = cache
        self.exchange = exchange
        self.wait = wait  # how long a caller waits for another one's exchange

    def cached(self) -> Token | None:
        """The token in the shared cache, if it is still usable."""
        token = Token.from_cached(self.cache.get(CACHE_KEY))
        return token if token is not None and token.usable else None

    def get(self) -> Token:
        """A usable token, exchanging the API key if there is none (single flight)."""
        token = self.cached()
        if token is not None:
            return token
        with self.cache.lock(LOCK_KEY, ttl=self.wait, wait=self.wait):
            # Whether or not the lock was won: someone may have refreshed while we waited.
            # Without the lock (a holder that died), exchanging anyway beats failing.
            token = self.cached()
            if token is not None:
                return token
            token = self.exchange()
            ttl = token.refresh_at - time.time()
            if ttl > 0:
                self.cache.set(CACHE_KEY, token.as_cached(), ttl=ttl)
            return token

    def drop(self, token: Token) -> None:
        """Forget `token` (Spacelift refused it), unless another caller replaced it already."""
        current = Token.from_cached(self.cache.get(CACHE_KEY))
        if current is not None and current.jwt == token.jwt:
            self.cache.delete(CACHE_KEY)

    def status(self) -> dict[str, Any] | None:
        """When the cached token expires and is refreshed (never the token itself)."""
        token = Token.from_cached(self.cache.get(CACHE_KEY))
        if token is None:
            return None
        return {"validUntil": token.valid_until, "refreshAt": token.refresh_at}
