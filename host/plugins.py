"""Plugin descriptors, the plugin manager, and discovery from the `greenroom.plugins` entry points.

A plugin module implements `register_backend_plugins` / `register_frontend_plugins` and returns
descriptors. A module that fails to import, or whose hooks raise, is recorded as failed with its
cause; the host serves the rest.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from host import hookspecs
from host.config import Schema

if TYPE_CHECKING:
    from flask import Blueprint, Flask

    from host.auth import Principal
    from host.config import Config
    from host.services import PluginContext

log = logging.getLogger("greenroom.plugins")

ENTRY_POINT_GROUP = "greenroom.plugins"

# Built-in behaviour is written against the same hooks as third parties, registered first and
# marked trylast, so any plugin can override it. pluggy calls trylast implementations in the
# order they were registered: a bearer token is examined before the proxy header and the cookie.
DEFAULT_PLUGINS = (
    "host.builtins.token_auth",
    "host.builtins.proxy_auth",
    "host.builtins.session_auth",
    "host.builtins.default_permissions",
)

PLUGIN_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RESERVED_IDS = frozenset(
    {"api", "static", "login", "logout", "healthz", "readyz", "administration", "-"}
)


@dataclass(frozen=True)
class NavItem:
    """A nav entry of a frontend plugin: `endpoint` is a Flask endpoint such as "hello.index"."""

    title: str
    endpoint: str
    icon: str = "puzzle"
    order: int = 100
    description: str = ""


@dataclass(frozen=True)
class BackendPlugin:
    """A backend plugin: `setup(ctx)` returns a fresh Blueprint, mounted at /api/<id>.

    `default_user_actions` are the permission actions any signed-in user may take when the
    configuration has no permission rules (for example "hello.read").
    """

    id: str
    setup: Callable[[PluginContext], Blueprint]
    config_schema: Schema | None = None
    default_user_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrontendPlugin:
    """A frontend plugin: pages at /<id>, nav entries, and the id of the backend it reads.

    `admin_setup(ctx)`, if given, returns a Blueprint of administration pages mounted at
    /administration/<id>; only principals allowed "host.admin" reach them, and admins see a link
    titled `admin_title` on the home page.
    """

    id: str
    setup: Callable[[PluginContext], Blueprint]
    nav: tuple[NavItem, ...] = ()
    backend: str | None = None
    config_schema: Schema | None = None
    admin_setup: Callable[[PluginContext], Blueprint] | None = None
    admin_title: str | None = None


Kind = Literal["backend", "frontend"]


@dataclass
class PluginRecord:
    """What the host knows about one plugin (or one entry point that failed before declaring)."""

    name: str  # entry-point or registration name
    kind: Kind | None = None
    id: str | None = None
    version: str | None = None
    distribution: str | None = None
    status: Literal["ok", "failed", "disabled"] = "ok"
    error: str | None = None
    descriptor: BackendPlugin | FrontendPlugin | None = None

    @property
    def mount(self) -> str | None:
        if self.id is None or self.kind is None:
            return None
        return f"/api/{self.id}" if self.kind == "backend" else f"/{self.id}"

    def fail(self, error: str) -> None:
        self.status = "failed"
        self.error = error

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "id": self.id,
            "version": self.version,
            "distribution": self.distribution,
            "mount": self.mount,
            "status": self.status,
            "error": self.error,
        }


class PluginError(Exception):
    """A plugin problem that stops startup (such as two plugins claiming one id)."""


def describe_exception(exc: BaseException) -> str:
    """One line naming the exception and where it was raised, without the full traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


@dataclass
class Host:
    """The per-app host object handed to every hook as `host`."""

    pm: pluggy.PluginManager
    environment: str = "production"
    config: Config | None = None
    app: Flask | None = None
    records: list[PluginRecord] = field(default_factory=list)
    backends: dict[str, BackendPlugin] = field(default_factory=dict)
    frontends: dict[str, FrontendPlugin] = field(default_factory=dict)
    contexts: dict[tuple[str, str], PluginContext] = field(default_factory=dict)
    readiness_checks: dict[str, Callable[[], str | None]] = field(default_factory=dict)

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")

    def authorize(self, principal: Principal | None, action: str, resource: Any = None) -> bool:
        """Ask the `permission_allowed` hooks; no answer means no."""
        result = self.pm.hook.permission_allowed(
            host=self, principal=principal, action=action, resource=resource
        )
        return bool(result)

    def admin_pages(self) -> list[tuple[str, str]]:
        """(title, URL) of every working frontend's administration pages."""
        return [
            (fp.admin_title or fp.id, f"/administration/{fp.id}/")
            for fp in self.frontends.values()
            if fp.admin_setup is not None
        ]

    def nav_items(self) -> list[tuple[NavItem, str]]:
        """(item, plugin id) for every nav entry of a working frontend plugin, in order."""
        items = [(nav, fid) for fid, fp in self.frontends.items() for nav in fp.nav]
        return sorted(items, key=lambda pair: (pair[0].order, pair[0].title))


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    return pm


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Hook implementations of `plugin` with no spec: a misspelt hook name."""
    callers = pm.get_hookcallers(plugin) or []
    return [hc.name for hc in callers if hc.spec is None]


def register_plugin(
    pm: pluggy.PluginManager, plugin: object, name: str, record: PluginRecord
) -> bool:
    """Register one plugin module; on failure, record why and leave the manager clean."""
    try:
        pm.register(plugin, name=name)
    except Exception as exc:  # noqa: BLE001 - a bad plugin must not stop the host
        record.fail(describe_exception(exc))
        return False
    unknown = _unknown_hooks(pm, plugin)
    if unknown:
        pm.unregister(plugin)
        record.fail(
            "unknown hook(s) " + ", ".join(sorted(unknown)) + " (misspelt? see docs/plugins.md)"
        )
        return False
    return True


@dataclass
class Discovery:
    """What entry-point discovery found."""

    unusable: list[PluginRecord] = field(default_factory=list)  # failed or disabled
    names: set[str] = field(default_factory=set)  # every entry-point name seen
    origins: dict[int, PluginRecord] = field(default_factory=dict)  # id(module) -> its record


def discover_entry_points(pm: pluggy.PluginManager, disabled: Iterable[str]) -> Discovery:
    """Import and register every entry point in ENTRY_POINT_GROUP not disabled by name."""
    disabled = set(disabled)
    found = Discovery()
    records = found.unusable
    seen = found.names
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = getattr(ep, "dist", None)
        record = PluginRecord(
            name=ep.name,
            distribution=dist.name if dist else None,
            version=dist.version if dist else None,
        )
        if ep.name in disabled:
            record.status = "disabled"
            records.append(record)
            continue
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001 - report and serve the rest
            record.fail(f"import failed: {describe_exception(exc)}")
            log.error("plugin %s failed to import: %s", ep.name, record.error)
            records.append(record)
            continue
        if not register_plugin(pm, module, ep.name, record):
            log.error("plugin %s could not be registered: %s", ep.name, record.error)
            records.append(record)
            continue
        found.origins[id(module)] = record
    return found


def collect_descriptors(
    pm: pluggy.PluginManager, host: Host, found: Discovery
) -> list[PluginRecord]:
    """Call the register_* hooks one implementation at a time, so one failure stays local."""
    records = list(found.unusable)
    for hookname, kind, cls in (
        ("register_backend_plugins", "backend", BackendPlugin),
        ("register_frontend_plugins", "frontend", FrontendPlugin),
    ):
        for impl in getattr(pm.hook, hookname).get_hookimpls():
            name = pm.get_name(impl.plugin) or repr(impl.plugin)
            origin = found.origins.get(id(impl.plugin))
            version = origin.version if origin else _module_version(impl.plugin)
            dist = origin.distribution if origin else None
            kwargs = {"host": host}
            try:
                result = impl.function(**{a: kwargs[a] for a in impl.argnames})
                descriptors = list(result or [])
                for d in descriptors:
                    if not isinstance(d, cls):
                        raise TypeError(f"{hookname} must return {cls.__name__} objects, got {d!r}")
                    if not PLUGIN_ID.match(d.id) or d.id in RESERVED_IDS:
                        raise ValueError(
                            f"plugin id {d.id!r} must be kebab-case and not one of "
                            f"{', '.join(sorted(RESERVED_IDS))}"
                        )
            except Exception as exc:  # noqa: BLE001 - one broken plugin, the rest still run
                records.append(
                    PluginRecord(
                        name=name, kind=kind, version=version, distribution=dist,  # type: ignore[arg-type]
                        status="failed", error=f"{hookname} failed: {describe_exception(exc)}",
                    )
                )
                continue
            for d in descriptors:
                records.append(
                    PluginRecord(
                        name=name, kind=kind, id=d.id, version=version,  # type: ignore[arg-type]
                        distribution=dist, descriptor=d,
                    )
                )
    return records


def _module_version(plugin: object) -> str | None:
    module = plugin if isinstance(plugin, ModuleType) else None
    top = (module.__name__ if module else type(plugin).__module__).split(".")[0]
    try:
        dists = importlib.metadata.packages_distributions().get(top) or []
        return importlib.metadata.version(dists[0]) if dists else None
    except importlib.metadata.PackageNotFoundError:
        return None


def check_duplicates(records: list[PluginRecord]) -> None:
    """Two working plugins of one kind with one id stop startup, naming both."""
    seen: dict[tuple[str, str], PluginRecord] = {}
    for r in records:
        if r.status != "ok" or r.id is None or r.kind is None:
            continue
        other = seen.get((r.kind, r.id))
        if other is not None:
            raise PluginError(
                f"two {r.kind} plugins claim the id {r.id!r}: {other.name!r} and {r.name!r}; "
                f"uninstall one, or list one of them in plugins.disabled"
            )
        seen[(r.kind, r.id)] = r
