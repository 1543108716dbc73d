"""The Spacelift connection in effect: saved settings (the administration page) over
app-config.yaml, picked up without a restart by every worker and instance.

Each request asks `Connections.current()`. The saved row is read from the database at most once
per `ROW_TTL` seconds through the shared cache (so with Redis, once for every worker and
instance), and a save or a revert deletes that cache entry: the change shows at once where the
cache is shared, and within `ROW_TTL` seconds in processes with their own memory cache.

The connection from app-config.yaml uses the plugin's plain cache keys. A saved connection's
token, answers and status live under `conn:<identity>:` (a keyed hash of host, key id and
secret), so pointing the portal at another account never serves the old account's token or
data, and going back finds the old ones again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from host import PluginCache, PluginContext
from spacelift_backend.config import Settings
from spacelift_backend.service import SpaceliftService
from spacelift_backend.settings_store import InvalidToken, SavedSettings, SecretBox, SettingsStore

ROW_KEY = "settings:saved"
ROW_TTL = 2.0
MAX_SERVICES = 8  # per process: one per connection seen lately (a few attributes each)
DB_WARNING_EVERY = 30.0

UNREADABLE_SECRET = (
    "the saved API secret cannot be decrypted with the current backend.secret (was it "
    "changed?): enter the secret again on the administration page and save"
)


class ScopedCache:
    """A `PluginCache` with a further key prefix: one connection's part of the plugin's cache."""

    def __init__(self, cache: PluginCache, prefix: str):
        self.cache = cache
        self.prefix = prefix

    def get(self, key: str) -> Any:
        return self.cache.get(self.prefix + key)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.cache.set(self.prefix + key, value, ttl=ttl)

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return self.cache.add(self.prefix + key, value, ttl=ttl)

    def delete(self, key: str) -> None:
        self.cache.delete(self.prefix + key)

    @contextmanager
    def lock(self, key: str, ttl: float = 30, wait: float = 30) -> Iterator[bool]:
        with self.cache.lock(self.prefix + key, ttl=ttl, wait=wait) as won:
            yield won


@dataclass(frozen=True)
class Connection:
    """The connection in effect, and where it comes from."""

    settings: Settings
    source: str  # "saved", "config" (app-config.yaml) or "none"
    scope: str | None  # the cache key prefix; None for app-config.yaml's plain keys
    saved: SavedSettings | None = None  # the saved row, also when it cannot be used
    problem: str | None = None  # why the saved row is not in effect


class Connections:
    """Resolves the connection in effect and keeps one `SpaceliftService` per connection."""

    def __init__(self, ctx: PluginContext, base: Settings, store: SettingsStore):
        self.ctx = ctx
        self.base = base
        self.store = store
        self.logger = ctx.logger
        self._guard = threading.Lock()
        self._services: OrderedDict[Settings, SpaceliftService] = OrderedDict()
        self._resolved: OrderedDict[SavedSettings, Connection] = OrderedDict()
        self._box: tuple[str, SecretBox] | None = None
        self._last_row: SavedSettings | None = None  # used while the database fails
        self._last_db_warning = 0.0

    # -- the secret box, keyed by backend.secret ------------------------------------------------

    @property
    def box(self) -> SecretBox:
        app = self.ctx.host.app
        secret = str(app.secret_key) if app is not None else ""
        held = self._box
        if held is None or held[0] != secret:
            held = (secret, SecretBox(secret))
            self._box = held
        return held[1]

    # -- the saved row -------------------------------------------------------------------------

    def saved(self) -> SavedSettings | None:
        """The saved row (secret encrypted), from the shared cache or the database."""
        cached = self.ctx.cache.get(ROW_KEY)
        if isinstance(cached, dict) and "row" in cached:
            return SavedSettings.from_cached(cached["row"])
        try:
            row = self.store.load()
        except SQLAlchemyError as exc:
            now = time.monotonic()
            if now - self._last_db_warning >= DB_WARNING_EVERY:
                self._last_db_warning = now
                self.logger.warning(
                    "cannot read the saved Spacelift connection (%s); using the last one read",
                    type(exc).__name__,
                )
            row = self._last_row
        else:
            self._last_row = row
        self.ctx.cache.set(ROW_KEY, {"row": row.as_cached() if row else None}, ttl=ROW_TTL)
        return row

    def forget(self) -> None:
        """After a save or a revert: every process reads the row again on its next request."""
        self.ctx.cache.delete(ROW_KEY)
        self._last_row = None

    # -- the connection in effect --------------------------------------------------------------

    def current(self) -> Connection:
        saved = self.saved()
        if saved is None:
            return self._configured(None, None)
        with self._guard:
            known = self._resolved.get(saved)
        if known is not None:
            return known
        connection = self._resolve(saved)
        with self._guard:
            self._resolved[saved] = connection
            while len(self._resolved) > MAX_SERVICES:
                self._resolved.popitem(last=False)
        return connection

    def _resolve(self, saved: SavedSettings) -> Connection:
        try:
            secret = self.box.decrypt(saved.secret_token)
        except InvalidToken:
            self.logger.error("spacelift: %s", UNREADABLE_SECRET)
            return self._configured(saved, UNREADABLE_SECRET)
        try:
            settings = self.base.with_connection(
                saved.host_url, saved.api_key, secret, saved.read_only
            )
        except ValueError as exc:  # only written through the validating API, but be safe
            return self._configured(saved, f"the saved host URL is invalid: {exc}")
        assert settings.host_url is not None
        identity = self.box.identity(settings.host_url.base_url, saved.api_key, secret)
        return Connection(settings, "saved", f"conn:{identity}:", saved)

    def _configured(self, saved: SavedSettings | None, problem: str | None) -> Connection:
        source = "config" if self.base.configured else "none"
        return Connection(self.base, source, None, saved, problem)

    # -- one service per connection ------------------------------------------------------------

    def warm(self) -> None:
        """Build app-config.yaml's service now: its hostUrl warnings show at startup."""
        self.service(self._configured(None, None))

    def service(self, connection: Connection) -> SpaceliftService:
        with self._guard:
            service = self._services.get(connection.settings)
            if service is not None:
                self._services.move_to_end(connection.settings)
                return service
        cache: Any = (
            self.ctx.cache if connection.scope is None
            else ScopedCache(self.ctx.cache, connection.scope)
        )  # fmt: skip
        service = SpaceliftService(connection.settings, cache, self.ctx.http, self.logger)
        with self._guard:
            service = self._services.setdefault(connection.settings, service)
            while len(self._services) > MAX_SERVICES:
                self._services.popitem(last=False)
        return service
