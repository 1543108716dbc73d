"""The hello plugin: a backend that counts waves, and a page that shows them live.

Backend, mounted at /api/hello (behind the host's barrier):
  GET  /api/hello/greet   -> {"message": "Hello, ada!", "waves": 3, "lastWaveBy": "bob"}
  POST /api/hello/wave    -> the same, after counting one more wave
  GET  /api/hello/health  -> {"status": "ok"}  (public)

Frontend, mounted at /hello: the page, a fragment for its live region, and a form to wave.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for

from host import (
    BackendPlugin,
    Field,
    FrontendPlugin,
    NavItem,
    PluginContext,
    current_principal,
    fragment_response,
    hookimpl,
    public_route,
)

CONFIG_SCHEMA = {
    "greeting": Field(str, default="Hello", description="The word the plugin greets with."),
}


def backend_setup(ctx: PluginContext) -> Blueprint:
    bp = Blueprint("hello_api", __name__)

    def state() -> dict[str, Any]:
        principal = current_principal()
        return {
            "message": f"{ctx.config.get('greeting', 'Hello')}, {principal.label}!",
            "waves": ctx.cache.get("waves") or 0,
            "lastWaveBy": ctx.cache.get("last-wave-by"),
        }

    @bp.get("/greet")
    def greet() -> Any:
        return state()

    @bp.post("/wave")
    def wave() -> Any:
        # Two wavers at once may lose a count with the memory cache; it is an example.
        ctx.cache.set("waves", (ctx.cache.get("waves") or 0) + 1, ttl=86400)
        ctx.cache.set("last-wave-by", current_principal().label, ttl=86400)
        ctx.logger.info("wave from %s", current_principal().id)
        return state()

    @bp.get("/health")
    @public_route
    def health() -> Any:
        return {"status": "ok"}

    return bp


def frontend_setup(ctx: PluginContext) -> Blueprint:
    bp = Blueprint("hello", __name__, template_folder="templates")

    def greeting() -> dict[str, Any]:
        answer = ctx.api.get("hello", "/greet")
        return answer.json if answer.ok else {"error": answer.error}

    @bp.get("/")
    def index() -> Any:
        return render_template("hello/index.html", data=greeting(), interval=5)

    @bp.get("/fragments/waves")
    def waves_fragment() -> Any:
        return fragment_response("hello/_waves.html", data=greeting())

    @bp.post("/wave")
    def wave() -> Any:
        ctx.api.post("hello", "/wave")
        return redirect(url_for("hello.index"))

    return bp


@hookimpl
def register_backend_plugins(host: Any) -> list[BackendPlugin]:
    return [
        BackendPlugin(
            id="hello",
            setup=backend_setup,
            config_schema=CONFIG_SCHEMA,
            default_user_actions=("hello.read",),
        )
    ]


@hookimpl
def register_frontend_plugins(host: Any) -> list[FrontendPlugin]:
    return [
        FrontendPlugin(
            id="hello",
            setup=frontend_setup,
            nav=(NavItem("Hello", "hello.index", icon="hand", description="Wave at your team."),),
            backend="hello",
        )
    ]
