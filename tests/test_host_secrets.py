"""A canary secret set in config never leaves: not in any GET response, not in the logs."""

from __future__ import annotations

import logging

import kitchen_plugin
from werkzeug.security import generate_password_hash

from host.testing import make_app, sign_in

CANARY = "CANARY-7f3e9b2a-do-not-leak"


def canary_config():
    return {
        "backend": {
            "secret": CANARY + "-backend",
            "cache": {"connection": f"redis://:{CANARY}-redis@127.0.0.1:6390/0"},
            "auth": {"externalAccess": [
                {"type": "static", "options": {"token": CANARY + "-token", "subject": "ci"}},
            ]},
        },
        "auth": {"providers": {"guest": {}, "password": {"users": {
            "ada": {"passwordHash": generate_password_hash("pw-" + CANARY)}}}}},
        "kitchen": {"apiSecret": CANARY + "-plugin"},
        "hello": {"greeting": "Hi"},
    }


def get_urls(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", "x").replace(f"<path:{arg}>", "host/host.css")
        yield url


def test_canary_never_appears_in_any_get_response_nor_in_logs(caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(canary_config(), plugins=[kitchen_plugin], load_entrypoints=True)
    admin = app.test_client()
    sign_in(admin)
    token_client = app.test_client()
    urls = sorted(set(get_urls(app))) + ["/no/such/page", "/api/kitchen/boom", "/api/none/x"]
    assert "/-/config" in urls and "/api/hello/greet" in urls
    seen = 0
    for url in urls:
        for client, headers in ((admin, {}), (token_client, {"Authorization": f"Bearer {CANARY}-token"})):
            response = client.get(url, headers=headers)
            body = response.get_data(as_text=True)
            assert CANARY not in body, (url, response.status_code)
            assert CANARY not in str(response.headers), url
            seen += 1
    config_page = admin.get("/-/config").get_data(as_text=True)
    assert "***" in config_page and "ada" in config_page  # redacted, not dropped
    assert seen >= 2 * 12
    assert CANARY not in caplog.text
    assert "kaboom" in caplog.text  # logging did happen
