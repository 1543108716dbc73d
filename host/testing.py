"""Helpers for testing Greenroom plugins: build an app, sign in, send CSRF headers, serve it.

    from host.testing import make_app, sign_in

    def test_greet():
        app = make_app(plugins=[my_plugin], config={"hello": {"greeting": "Hi"}})
        client = app.test_client()
        sign_in(client)
        assert client.get("/api/hello/greet").json["message"] == "Hi, guest!"
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from host.app import create_app

TEST_SECRET = "test-secret-0123456789abcdef-not-for-production"

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `extra` merged in: mappings merge, everything else replaces."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def test_config(**overrides: Any) -> dict[str, Any]:
    """A development config with guest sign-in; `guest` is an admin."""
    base: dict[str, Any] = {
        "app": {"environment": "development"},
        "backend": {"secret": TEST_SECRET},
        "auth": {"providers": {"guest": {}}},
        "permission": {"admins": ["guest"]},
    }
    return deep_merge(base, overrides)


test_config.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def make_app(
    config: Mapping[str, Any] | None = None,
    plugins: Iterable[object] = (),
    *,
    load_entrypoints: bool = False,
    base: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Flask:
    """create_app() for tests: `config` is merged over test_config() (or over `base`)."""
    merged = deep_merge(dict(base) if base is not None else test_config(), config or {})
    kwargs.setdefault("environment", merged.get("app", {}).get("environment", "development"))
    kwargs.setdefault("instance_path", tempfile.mkdtemp(prefix="greenroom-test-"))
    return create_app(merged, plugins=plugins, load_entrypoints=load_entrypoints, **kwargs)


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered page (meta tag or hidden field)."""
    match = _CSRF.search(html)
    if not match:
        raise AssertionError("no CSRF token in the page")
    return match.group(1) or match.group(2)


def sign_in(
    client: FlaskClient, provider: str = "guest", username: str = "", password: str = ""
) -> str:
    """Sign in through /login like a browser; returns the session's CSRF token."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "provider": provider, "next": "/"}
    if provider == "password":
        data.update(username=username, password=password)
    response = client.post("/login", data=data)
    if response.status_code != 302:
        raise AssertionError(f"sign-in failed with {response.status_code}")
    return csrf_from(client.get("/").get_data(as_text=True))


@dataclass
class LiveServer:
    """An app served on a free loopback port in a thread."""

    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextmanager
def serve(app: Flask) -> Iterator[LiveServer]:
    """Serve `app` on 127.0.0.1 (a free port) for the duration of the block."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live = LiveServer(server, thread)
    try:
        yield live
    finally:
        live.stop()
