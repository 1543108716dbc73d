"""The host's own pages: sign-in, home, introspection, health."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash

from host.auth import Throttle, csrf_ok, current_principal, public_route
from host.plugins import Host


def _host() -> Host:
    return current_app.extensions["greenroom"]


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not target:
        return url_for("host.home")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("host.home")
    return target


def _sign_in(provider: str, name: str, groups: list[str], display: str | None) -> None:
    # A fresh session: whatever the cookie held before sign-in is dropped (no fixation).
    session.clear()
    session.permanent = True
    session.update(
        uid=name,
        provider=provider,
        groups=groups,
        display=display,
        iat=time.time(),
        csrf=secrets.token_urlsafe(32),
    )


def make_blueprint() -> Blueprint:
    bp = Blueprint("host", __name__)

    @bp.get("/")
    def home() -> Any:
        host = _host()
        return render_template("host/home.html", cards=host.nav_items())

    @bp.route("/login", methods=["GET", "POST"])
    @public_route
    def login() -> Any:
        host = _host()
        providers = host.config.get("auth.providers") or {}
        next_url = _safe_next(request.values.get("next"))
        error = None
        status = 200
        if request.method == "POST":
            if not csrf_ok(request.form.get("csrf_token")):
                error = "Your sign-in form expired. Please try again."
                status = 400
            else:
                provider = request.form.get("provider", "")
                if provider == "guest" and "guest" in providers:
                    guest = providers["guest"]
                    _sign_in("guest", guest["userName"], list(guest.get("groups") or []), "Guest")
                    return redirect(next_url)
                if provider == "password" and "password" in providers:
                    error, status = _password_sign_in(host, providers["password"])
                    if error is None:
                        return redirect(next_url)
                else:
                    error, status = "That sign-in method is not enabled.", 400
        elif current_principal() is not None and current_principal().kind == "user":
            return redirect(next_url)
        return (
            render_template(
                "host/login.html", providers=providers, next_url=next_url, error=error
            ),
            status,
        )

    @bp.post("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("host.login"))

    @bp.get("/-/plugins")
    def plugins_page() -> Any:
        host = _host()
        return render_template("host/plugins.html", records=host.records)

    @bp.get("/-/config")
    def config_page() -> Any:
        host = _host()
        if not host.authorize(current_principal(), "host.admin"):
            abort(403, description="Only admins may read the configuration.")
        text = json.dumps(host.config.redacted(), indent=2, sort_keys=True, default=str)
        return render_template("host/config.html", config_text=text)

    @bp.get("/healthz")
    @public_route
    def healthz() -> Any:
        return jsonify(status="ok")

    @bp.get("/readyz")
    @public_route
    def readyz() -> Any:
        host = _host()
        failed = {r.name: r.error for r in host.records if r.status == "failed"}
        checks = {}
        for name, check in host.readiness_checks.items():
            try:
                problem = check()
            except Exception as exc:  # noqa: BLE001 - a failing check is a "not ready"
                problem = f"{type(exc).__name__}: {exc}"
            checks[name] = problem or "ok"
        ready = not failed and all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "failedPlugins": failed, "checks": checks}
        return jsonify(body), (200 if ready else 503)

    return bp


def _password_sign_in(host: Host, settings: dict[str, Any]) -> tuple[str | None, int]:
    """Check the form's password; throttle failures per user and per address."""
    name = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    throttle: Throttle = current_app.extensions["greenroom.throttle"]
    keys = (f"user:{name.lower()}", f"addr:{request.remote_addr}")
    wait = throttle.retry_after(*keys)
    if wait:
        exc = TooManyRequests(f"Too many failed sign-ins. Try again in {wait} s.")
        exc.retry_after = wait  # type: ignore[attr-defined]
        raise exc
    user = (settings.get("users") or {}).get(name)
    # Check a hash even for unknown users, so timing does not reveal which names exist.
    known_hash = user["passwordHash"] if user else _DUMMY_HASH
    if check_password_hash(known_hash, password) and user is not None:
        throttle.clear(keys[0])
        _sign_in("password", name, list(user.get("groups") or []), user.get("displayName"))
        return None, 200
    throttle.fail(*keys)
    return "Wrong user name or password.", 401


_DUMMY_HASH = (
    "scrypt:32768:8:1$greenroomdummy00$"
    "0f7dbd2e84e1e0e8a0f3f4d7b4b7f6e6c4d5a1f2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7"
    "c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"
)
