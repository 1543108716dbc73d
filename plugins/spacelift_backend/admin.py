"""The admin routes (`host.admin` only): the saved connection, its test, and the audit trail.

    GET    /admin/settings         the connection in effect, where it comes from, what is saved
    PUT    /admin/settings         save hostUrl, apiKey, apiSecret (blank: keep), readOnly
    DELETE /admin/settings         forget the saved connection: back to app-config.yaml
    POST   /admin/test-connection  exchange the key and ask `viewer`, with the values sent
    GET    /audit                  the audit trail, filtered and paged

The secret is write-only: no answer ever carries it, and it is stored encrypted
(settings_store.py). Every change and every test is written to the audit trail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, request
from sqlalchemy.exc import SQLAlchemyError

from host import ApiError, PluginContext, current_principal
from spacelift_backend.audit import ACTIONS, DEFAULT_PER_PAGE, MAX_PER_PAGE, AuditTrail
from spacelift_backend.config import parse_host_url
from spacelift_backend.connection import Connection, Connections
from spacelift_backend.model import iso
from spacelift_backend.params import choice_arg, int_arg, text_arg
from spacelift_backend.service import check_connection
from spacelift_backend.settings_store import SavedSettings

ADMIN = "host.admin"
FIELDS = ("hostUrl", "apiKey", "apiSecret", "readOnly")
MAX_KEY = 200
MAX_SECRET = 1000


@dataclass(frozen=True)
class Submitted:
    """A checked settings form: the secret to use (the one in effect when left blank)."""

    host_url: str
    api_key: str
    api_secret: str
    read_only: bool
    secret_changed: bool

    def describe(self) -> str:
        """For the audit trail: everything but the secret."""
        return (f"hostUrl={self.host_url} apiKey={self.api_key} readOnly={str(self.read_only).lower()} "
                f"secret {'changed' if self.secret_changed else 'kept'}")  # fmt: skip


def check_form(body: Any, connection: Connection) -> Submitted:
    """The settings sent as JSON, checked: a 422 `invalid_settings` with a message per field
    (`fields`), the hostUrl ones from the same parser as the config check."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_settings",
                       "the body must be a JSON object with hostUrl, apiKey, apiSecret and readOnly",
                       fields={})  # fmt: skip
    problems: dict[str, str] = {}
    for name in sorted(set(body) - set(FIELDS)):
        problems[name] = "unknown field"
    host = body.get("hostUrl")
    if not isinstance(host, str) or not host.strip():
        problems["hostUrl"] = "required: your Spacelift host, such as acme.app.spacelift.io"
    else:
        try:
            parse_host_url(host)
        except ValueError as exc:
            problems["hostUrl"] = str(exc)
    key = body.get("apiKey")
    if not isinstance(key, str) or not key.strip():
        problems["apiKey"] = "required: the API key id"
    elif len(key.strip()) > MAX_KEY or re.search(r"\s", key.strip()):
        problems["apiKey"] = f"must be a key id: no spaces, at most {MAX_KEY} characters"
    secret = body.get("apiSecret")
    if secret is not None and not isinstance(secret, str):
        problems["apiSecret"] = "must be a string"
        secret = ""
    secret = secret or ""
    if len(secret) > MAX_SECRET:
        problems["apiSecret"] = f"must be at most {MAX_SECRET} characters long"
    elif not secret and not connection.settings.api_secret:
        problems["apiSecret"] = "required: no secret is stored yet"
    read_only = body.get("readOnly", False)
    if not isinstance(read_only, bool):
        problems["readOnly"] = "must be true or false"
    if problems:
        raise ApiError(
            422, "invalid_settings", "; ".join(f"{k}: {v}" for k, v in problems.items()),
            fields=problems,
        )  # fmt: skip
    return Submitted(
        host_url=str(host).strip(),
        api_key=str(key).strip(),
        api_secret=secret or connection.settings.api_secret,
        read_only=bool(read_only),
        secret_changed=bool(secret),
    )


def register(
    bp: Blueprint,
    ctx: PluginContext,
    connections: Connections,
    audit: AuditTrail,
    require: Callable[..., None],
) -> None:
    """Add the admin routes to the backend's blueprint."""
    def view() -> dict[str, Any]:
        connection = connections.current()
        saved = connection.saved
        config = None
        if connections.base.configured:
            config = {
                "hostUrl": ctx.config.get("hostUrl"),
                "apiKey": ctx.config.get("apiKey"),
                "readOnly": bool(ctx.config.get("readOnly", False)),
                "secretSet": bool(ctx.config.get("apiSecret")),
            }
        in_effect = None
        if connection.source == "saved" and saved is not None:
            in_effect = {"hostUrl": saved.host_url, "apiKey": saved.api_key,
                         "readOnly": saved.read_only, "secretSet": True}  # fmt: skip
        elif connection.source == "config":
            in_effect = config
        return {
            "source": connection.source,
            "inEffect": in_effect,
            "saved": None if saved is None else {
                "hostUrl": saved.host_url, "apiKey": saved.api_key, "readOnly": saved.read_only,
                "savedAt": iso(saved.saved_at), "savedBy": saved.saved_by,
            },
            "config": config,
            "problem": connection.problem,
        }  # fmt: skip

    def database_failed(what: str) -> ApiError:
        return ApiError(503, "database_unavailable", f"{what}: the database is unavailable")

    @bp.get("/admin/settings")
    def get_settings() -> Any:
        require(ADMIN)
        return view()

    @bp.put("/admin/settings")
    def put_settings() -> Any:
        principal = current_principal()
        with audit.record("settings.update", principal) as entry:
            require(ADMIN)
            form = check_form(request.get_json(silent=True), connections.current())
            saved = SavedSettings(
                host_url=form.host_url,
                api_key=form.api_key,
                secret_token=connections.box.encrypt(form.api_secret),
                read_only=form.read_only,
                saved_at=time.time(),
                saved_by=principal.id if principal else "unknown",
            )
            try:
                connections.store.save(saved)
            except SQLAlchemyError:
                raise database_failed("the settings were not saved") from None
            connections.forget()
            entry.finish("ok", detail=form.describe())
        ctx.logger.info("spacelift connection saved by %s: %s", saved.saved_by, form.describe())
        return view()

    @bp.delete("/admin/settings")
    def delete_settings() -> Any:
        principal = current_principal()
        with audit.record("settings.revert", principal) as entry:
            require(ADMIN)
            try:
                removed = connections.store.delete()
            except SQLAlchemyError:
                raise database_failed("the saved settings were not removed") from None
            connections.forget()
            entry.finish("ok", detail="back to app-config.yaml" if removed else "nothing was saved")
        return view()

    @bp.post("/admin/test-connection")
    def test_connection() -> Any:
        with audit.record("settings.test", current_principal()) as entry:
            require(ADMIN)
            form = check_form(request.get_json(silent=True), connections.current())
            settings = connections.base.with_connection(
                form.host_url, form.api_key, form.api_secret, form.read_only
            )
            result = check_connection(settings, ctx.http, ctx.logger)
            assert settings.host_url is not None
            result["host"] = settings.host_url.netloc
            if result["ok"]:
                entry.finish("ok", detail=f"hostUrl={form.host_url} apiKey={form.api_key}")
            else:
                error = result["error"]
                entry.finish(error["code"], detail=f"hostUrl={form.host_url} apiKey={form.api_key}: "
                                                   f"{error['message']}")  # fmt: skip
        return result

    @bp.get("/audit")
    def audit_trail() -> Any:
        require(ADMIN)
        wanted = {
            "user": text_arg("user"),
            "action": choice_arg("action", ("", *ACTIONS), "") or None,
            "stack": text_arg("stack"),
            "result": text_arg("result"),
            "page": int_arg("page", 1, 1, 100_000),
            "per_page": int_arg("perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
        }
        try:
            return audit.search(**wanted)
        except SQLAlchemyError:
            raise database_failed("the audit trail cannot be read") from None
