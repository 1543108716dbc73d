"""create_app(): config -> plugin manager -> services -> mount."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, before_render_template, request
from flask_caching import Cache
from werkzeug.exceptions import BadRequest

from host import config as config_mod
from host import errors, templating
from host.auth import Throttle, barrier, csrf_token, current_principal
from host.cache import SharedCache
from host.config import Config, ConfigError, ConfigProblem, Field, LoadedConfig
from host.database import Database, PluginDatabase, default_url
from host.live import live_etag
from host.plugins import (
    BackendPlugin,
    FrontendPlugin,
    Host,
    PluginRecord,
    check_duplicates,
    collect_descriptors,
    describe_exception,
    discover_entry_points,
    make_plugin_manager,
    register_plugin,
)
from host.services import ApiClient, PluginCache, PluginContext, make_http_session
from host.settings import HOST_SCHEMA

log = logging.getLogger("greenroom")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class GreenroomRequest(Request):
    """Says plainly that a body is not JSON (Flask only does so in debug mode)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        raise BadRequest("the request body is not valid JSON")


class StartupError(Exception):
    """The host refuses to start; the message says what to set."""


def _as_loaded(config: Mapping[str, Any] | LoadedConfig | None, files: Sequence[str] | None,
               env: Mapping[str, str] | None, cwd: str | None) -> LoadedConfig:
    if isinstance(config, LoadedConfig):
        return config
    if config is not None:
        return LoadedConfig(data=dict(config), files=["<dict>"])
    return config_mod.load(files, env=env, cwd=cwd)


def build_host(
    config: Mapping[str, Any] | LoadedConfig | None = None,
    *,
    config_files: Sequence[str] | None = None,
    plugins: Iterable[object] = (),
    load_entrypoints: bool = True,
    environment: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Host:
    """Load config, discover plugins and validate everything, without building the Flask app.

    Raises ConfigError listing every problem. `greenroom config check` and `plugins` use this.
    """
    loaded = _as_loaded(config, config_files, env, cwd)
    raw_plugins = loaded.data.get("plugins") if isinstance(loaded.data.get("plugins"), dict) else {}
    raw_disabled = raw_plugins.get("disabled") if isinstance(raw_plugins, dict) else None
    disabled = [d for d in (raw_disabled or []) if isinstance(d, str)]

    pm = make_plugin_manager()
    raw_app = loaded.data.get("app") if isinstance(loaded.data.get("app"), dict) else {}
    env_name = environment or (raw_app or {}).get("environment") or "production"
    host = Host(pm=pm, environment=str(env_name))
    from host.plugins import Discovery

    found = discover_entry_points(pm, disabled) if load_entrypoints else Discovery()
    for plugin in plugins:
        if pm.is_registered(plugin):
            continue  # already loaded from its entry point
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        record = PluginRecord(name=name)
        if name in disabled:
            record.status = "disabled"
            found.unusable.append(record)
            found.names.add(name)
            continue
        found.names.add(name)
        if not register_plugin(pm, plugin, name, record):
            found.unusable.append(record)
    records = collect_descriptors(pm, host, found)

    problems: list[ConfigProblem] = []
    known = set(found.names) | {r.id for r in records if r.id}
    for i, name in enumerate(disabled):
        if name not in known:
            from difflib import get_close_matches

            near = get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean \"{near[0]}\"?)" if near else ""
            loc = loaded.locations.get(f"plugins.disabled[{i}]") or loaded.locations.get(
                "plugins.disabled"
            )
            problems.append(
                ConfigProblem(
                    key=f"plugins.disabled[{i}]",
                    message=f"no installed plugin is named {name!r}{hint}",
                    file=loc[0] if loc else None,
                    line=loc[1] if loc else None,
                )
            )
    for r in records:
        if r.status == "ok" and r.id in disabled:
            r.status = "disabled"

    check_duplicates(records)
    schema = _full_schema(records, disabled)
    try:
        validated = config_mod.validate(loaded, schema)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    host.config = validated
    host.environment = environment or validated.get("app.environment", "production")
    host.records = records
    return host


def _full_schema(records: list[PluginRecord], disabled: Sequence[str]) -> dict[str, Field]:
    schema: dict[str, Field] = dict(HOST_SCHEMA)
    blocks: dict[str, dict[str, Field]] = {}
    for r in records:
        d = r.descriptor
        if d is None or r.id is None:
            continue
        block = blocks.setdefault(r.id, {})
        if r.status == "ok" and d.config_schema:
            block.update(d.config_schema)
    for plugin_id, block in blocks.items():
        if plugin_id in schema:
            continue
        # A disabled plugin's block is kept but not checked; an enabled one is validated.
        schema[plugin_id] = Field(dict, schema=block, default=None) if block else Field(dict)
    for name in disabled:
        schema.setdefault(name, Field(dict))
    return schema


def check_startup(host: Host) -> list[str]:
    """What stops a production start: each entry says what to set."""
    cfg = host.config
    assert cfg is not None
    if host.is_development:
        return []
    problems = []
    if not cfg.get("backend.secret"):
        problems.append(
            "backend.secret is not set: outside development it signs sessions and tokens. "
            "Set backend.secret (for example to ${GREENROOM_SECRET}, a long random string)."
        )
    guest = (cfg.get("auth.providers") or {}).get("guest")
    if guest is not None and not guest.get("dangerouslyAllowOutsideDevelopment"):
        problems.append(
            "the guest sign-in provider is for development only. Remove auth.providers.guest, "
            "or set auth.providers.guest.dangerouslyAllowOutsideDevelopment: true."
        )
    return problems


def create_app(
    config: Mapping[str, Any] | LoadedConfig | None = None,
    *,
    config_files: Sequence[str] | None = None,
    plugins: Iterable[object] = (),
    load_entrypoints: bool = True,
    environment: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    instance_path: str | None = None,
) -> Flask:
    """Build a Greenroom app.

    `config` is a mapping (tests) or None to read `config_files` (default: app-config.yaml and
    app-config.local.yaml in `cwd`). `plugins` are extra plugin modules or objects, registered
    after the entry points. `environment` overrides `app.environment` ("development",
    "production" or "test"). Raises ConfigError or StartupError when the host cannot start.
    """
    host = build_host(
        config,
        config_files=config_files,
        plugins=plugins,
        load_entrypoints=load_entrypoints,
        environment=environment,
        env=env,
        cwd=cwd,
    )
    refusals = check_startup(host)
    if refusals:
        raise StartupError("\n".join(refusals))
    cfg = host.config
    assert cfg is not None

    root = Path(__file__).parent
    app = Flask(
        "host",
        root_path=str(root),
        instance_path=instance_path or os.path.abspath("instance"),
        static_url_path="/static",
    )
    app.request_class = GreenroomRequest
    host.app = app
    app.extensions["greenroom"] = host
    secret = cfg.get("backend.secret")
    if not secret:
        log.warning("backend.secret is not set: using a random one (development only)")
        secret = secrets.token_urlsafe(48)
    base_url = cfg.get("app.baseUrl", "http://localhost:7007")
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="greenroom_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.get("auth.session.maxAgeHours", 12)),
        MAX_CONTENT_LENGTH=cfg.get("backend.maxRequestBytes", 1048576),
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    cache = _make_cache(app, cfg)
    app.extensions["greenroom.cache"] = cache
    database = Database(cfg.get("backend.database.connection") or default_url(app.instance_path))
    app.extensions["greenroom.database"] = database
    host.readiness_checks["cache"] = cache.problem
    app.extensions["greenroom.throttle"] = Throttle(
        cache,
        max_failures=cfg.get("auth.throttle.maxFailures", 5),
        window=cfg.get("auth.throttle.windowSeconds", 300),
    )

    errors.install(app)
    from host.views import make_blueprint

    app.register_blueprint(make_blueprint())
    app.before_request(lambda: barrier(host))
    app.after_request(_security_headers)
    _install_templates(app, host)
    _mount_plugins(app, host, cache, database)
    host.pm.hook.startup(host=host)
    return app


def _make_cache(app: Flask, cfg: Config) -> SharedCache:
    """flask-caching's Redis or memory backend, behind the outage-tolerant SharedCache."""
    store = cfg.get("backend.cache.store", "memory")
    ttl = cfg.get("backend.cache.defaultTtlSeconds", 300)
    if store == "redis":
        settings = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": cfg.get("backend.cache.connection") or "redis://127.0.0.1:6379/0",
            "CACHE_KEY_PREFIX": "greenroom:",
            "CACHE_DEFAULT_TIMEOUT": ttl,
            # Fail fast when Redis is away: requests fall back instead of hanging.
            "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    else:
        settings = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": ttl, "CACHE_THRESHOLD": 20000}
    cache = Cache()
    cache.init_app(app, config=settings)
    return SharedCache(cache.cache, shared=store == "redis")


def _security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _install_templates(app: Flask, host: Host) -> None:
    app.jinja_env.globals.update(
        csrf_token=csrf_token, current_principal=current_principal, live_etag=live_etag
    )
    app.jinja_env.autoescape = True
    templating.install(app.jinja_env)

    @app.context_processor
    def _host_vars() -> dict[str, Any]:
        principal = current_principal()
        return {
            "app_title": host.config.get("app.title", "Greenroom"),
            "nav": host.nav_items(),
            "principal": principal,
            "is_admin": host.authorize(principal, "host.admin") if principal else False,
            "admin_pages": host.admin_pages(),
        }

    def _extra(sender: Flask, template: Any, context: dict[str, Any], **_: Any) -> None:
        for extra in host.pm.hook.extra_template_vars(
            host=host, request=request, template_name=template.name, principal=current_principal()
        ):
            if extra:
                context.update(extra)

    before_render_template.connect(_extra, app, weak=False)
    host.pm.hook.prepare_jinja2_environment(host=host, env=app.jinja_env)


def _mount_plugins(app: Flask, host: Host, cache: SharedCache, database: Database) -> None:
    cfg = host.config
    assert cfg is not None
    ok = [r for r in host.records if r.status == "ok" and r.descriptor is not None]
    ok.sort(key=lambda r: r.kind != "backend")  # backends first: frontends depend on them
    for r in ok:
        d = r.descriptor
        assert d is not None and r.id is not None
        if isinstance(d, FrontendPlugin) and d.backend and d.backend not in host.backends:
            r.fail(
                f"needs the backend plugin {d.backend!r}, which is not installed or not working"
            )
            continue
        ctx = PluginContext(
            id=r.id,
            kind=r.kind or "",
            config=cfg.section(r.id),
            cache=PluginCache(cache, f"plugin:{r.id}"),
            http=make_http_session(r.id),
            logger=logging.getLogger(f"greenroom.plugins.{r.id}"),
            api=ApiClient(host, r.id),
            host=host,
            db=PluginDatabase(database, r.id),
        )
        try:
            blueprint = d.setup(ctx)
            ctx.db.create_all()  # tables are created at startup
            if blueprint is None or not hasattr(blueprint, "register"):
                raise TypeError("setup(ctx) must return a flask.Blueprint")
            prefix = f"/api/{r.id}" if isinstance(d, BackendPlugin) else f"/{r.id}"
            app.register_blueprint(blueprint, url_prefix=prefix, name=_bp_name(d))
            if isinstance(d, FrontendPlugin) and d.admin_setup is not None:
                admin = d.admin_setup(ctx)
                admin.before_request(_require_admin(host))
                app.register_blueprint(
                    admin, url_prefix=f"/administration/{r.id}", name=f"admin-{r.id}"
                )
        except Exception as exc:  # noqa: BLE001 - one broken plugin, the rest still serve
            r.fail(f"setup failed: {describe_exception(exc)}")
            log.error("plugin %s (%s %s) failed to set up: %s", r.name, r.kind, r.id, r.error)
            continue
        host.contexts[(r.kind or "", r.id)] = ctx
        if isinstance(d, BackendPlugin):
            host.backends[r.id] = d
        else:
            host.frontends[r.id] = d
    for r in host.records:
        if r.status == "failed":
            log.error("plugin %s failed: %s", r.name, r.error)


def _require_admin(host: Host) -> Any:
    def check() -> None:
        if not host.authorize(current_principal(), "host.admin"):
            from flask import abort

            abort(403, description="Only admins may open the administration pages.")

    return check


def _bp_name(d: BackendPlugin | FrontendPlugin) -> str:
    """Endpoint prefix: "<id>" for a frontend's pages, "api-<id>" for a backend's routes."""
    return f"api-{d.id}" if isinstance(d, BackendPlugin) else d.id
