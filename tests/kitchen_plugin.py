"""A kitchen-sink plugin for host tests: every kind of route the barrier must guard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from host import (
    ApiError,
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

SCHEMA = {
    "motto": Field(str, default="cook"),
    "apiSecret": Field(str, secret=True),
}


def backend(ctx: PluginContext) -> Blueprint:
    bp = Blueprint("kitchen_api", __name__)
    items: dict[str, Any] = {}

    @bp.get("/items")
    def list_items() -> Any:
        return {"items": sorted(items), "who": current_principal().id, "via": current_principal().via}

    @bp.get("/items/<item_id>")
    def get_item(item_id: str) -> Any:
        if item_id not in items:
            raise ApiError(404, "not_found", f"no item {item_id!r}")
        return items[item_id]

    @bp.post("/items")
    def add_item() -> Any:
        body = request.get_json()
        if not isinstance(body, dict) or "id" not in body:
            raise ApiError(422, "invalid_parameter", "body needs an 'id'")
        items[body["id"]] = body
        return body, 201

    @bp.delete("/items/<item_id>")
    def delete_item(item_id: str) -> Any:
        items.pop(item_id, None)
        return "", 204

    @bp.get("/boom")
    def boom() -> Any:
        raise RuntimeError("kaboom: secret internals /etc/passwd")

    @bp.get("/health")
    @public_route
    def health() -> Any:
        return {"status": "ok"}

    return bp


def frontend(ctx: PluginContext) -> Blueprint:
    bp = Blueprint("kitchen", __name__, template_folder="templates")

    @bp.get("/")
    def index() -> Any:
        answer = ctx.api.get("kitchen", "/items")
        return {"page": True, "backend": answer.json, "status": answer.status}

    @bp.get("/fragments/count")
    def count() -> Any:
        answer = ctx.api.get("kitchen", "/items")
        return fragment_response("kitchen/_count.html", value=len(answer.json["items"]))

    return bp


@hookimpl
def register_backend_plugins(host: Any) -> list[BackendPlugin]:
    return [BackendPlugin(id="kitchen", setup=backend, config_schema=SCHEMA,
                          default_user_actions=("kitchen.read",))]


@hookimpl
def register_frontend_plugins(host: Any) -> list[FrontendPlugin]:
    return [FrontendPlugin(id="kitchen", setup=frontend, backend="kitchen",
                           nav=(NavItem("Kitchen", "kitchen.index"),))]
