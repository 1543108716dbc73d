"""The barrier: every rule under /api is closed unless it says @public_route."""

from __future__ import annotations

import json

import kitchen_plugin
import pytest
from werkzeug.routing import Rule

from host.auth import is_public
from host.testing import make_app, sign_in

SERVICE_TOKEN = "svc-token-0123456789abcdef"
RESTRICTED_TOKEN = "hello-only-token-0123456789"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def app():
    return make_app(
        {
            "backend": {
                "auth": {
                    "externalAccess": [
                        {"type": "static", "options": {"token": SERVICE_TOKEN, "subject": "ci"}},
                        {
                            "type": "static",
                            "options": {"token": RESTRICTED_TOKEN, "subject": "hello-bot"},
                            "accessRestrictions": [{"plugin": "hello"}],
                        },
                    ]
                }
            }
        },
        plugins=[kitchen_plugin],
        load_entrypoints=True,  # the pip-installed hello plugin too
    )


def api_rules(app) -> list[tuple[Rule, str, str]]:
    """(rule, method, a concrete URL) for every rule and method under /api."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", "x").replace(f"<string:{arg}>", "x")
            url = url.replace(f"<int:{arg}>", "1").replace(f"<path:{arg}>", "x/y")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method, url))
    return out


def call(client, method, url, **kw):
    kw.setdefault("json", {} if method in UNSAFE else None)
    return client.open(url, method=method, **kw)


def test_the_walk_covers_both_plugins(app):
    urls = {url for _, _, url in api_rules(app)}
    assert "/api/kitchen/items" in urls and "/api/hello/greet" in urls
    assert len(api_rules(app)) >= 8


def test_every_api_rule_needs_credentials(app):
    client = app.test_client()
    checked = 0
    for rule, method, url in api_rules(app):
        view = app.view_functions[rule.endpoint]
        response = call(client, method, url)
        if is_public(view):
            assert response.status_code != 401, url
            continue
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.json["error"]["code"] == "unauthorized"
        checked += 1
    assert checked >= 6


def test_bad_bearer_is_401_with_and_without_a_valid_cookie(app):
    plain = app.test_client()
    with_cookie = app.test_client()
    csrf = sign_in(with_cookie)
    for _, method, url in api_rules(app):
        for client in (plain, with_cookie):
            response = call(
                client, method, url,
                headers={"Authorization": "Bearer not-a-real-token-at-all", "X-CSRF-Token": csrf},
            )
            assert response.status_code == 401, (method, url)
            assert response.json["error"]["code"] == "unauthorized"


def test_a_token_restricted_to_another_plugin_gets_403(app):
    client = app.test_client()
    for rule, method, url in api_rules(app):
        if is_public(app.view_functions[rule.endpoint]):
            continue
        response = call(client, method, url, headers={"Authorization": f"Bearer {RESTRICTED_TOKEN}"})
        if url.startswith("/api/hello/"):
            assert response.status_code != 403, url
        else:
            assert response.status_code == 403, (method, url)
            assert response.json["error"]["code"] == "forbidden"


def test_cookie_posts_need_the_csrf_header(app):
    client = app.test_client()
    csrf = sign_in(client)
    unsafe = [(r, m, u) for r, m, u in api_rules(app) if m in UNSAFE]
    assert unsafe, "the walk must include unsafe methods"
    for _rule, method, url in unsafe:
        response = call(client, method, url)
        assert response.status_code == 403, (method, url)
        assert response.json["error"]["code"] == "csrf_failed"
        wrong = call(client, method, url, headers={"X-CSRF-Token": "wrong"})
        assert wrong.status_code == 403
        right = call(client, method, url, headers={"X-CSRF-Token": csrf})
        assert right.status_code not in (401, 403), (method, url)


def test_static_token_needs_no_csrf(app):
    client = app.test_client()
    response = client.post(
        "/api/kitchen/items", json={"id": "a"}, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
    )
    assert response.status_code == 201
    listed = client.get("/api/kitchen/items", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert listed.json["who"] == "service:ci" and listed.json["via"] == "token"


def test_unknown_paths_under_a_plugin_reveal_nothing(app):
    client = app.test_client()
    for url in ("/api/kitchen/does-not-exist", "/api/nowhere/at/all", "/api/hello/../kitchen"):
        response = client.get(url)
        assert response.status_code == 401, url
    signed = app.test_client()
    sign_in(signed)
    response = signed.get("/api/kitchen/does-not-exist")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": response.json["error"]["message"]}}


def test_api_errors_are_json_without_traceback(app, caplog):
    client = app.test_client()
    sign_in(client)
    boom = client.get("/api/kitchen/boom")
    assert boom.status_code == 500
    assert boom.json["error"]["code"] == "internal_error"
    assert "kaboom" not in boom.get_data(as_text=True)
    assert "Traceback" not in boom.get_data(as_text=True)
    assert "kaboom" in caplog.text  # logged for the operator
    wrong_method = client.put("/api/kitchen/items", headers={"X-CSRF-Token": "x"})
    assert wrong_method.status_code in (403, 405)
    assert wrong_method.is_json


def test_405_is_json(app):
    client = app.test_client()
    response = client.put("/api/kitchen/items", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_malformed_and_huge_bodies_get_4xx_json(app):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    bad = client.post("/api/kitchen/items", data="{not json", content_type="application/json", headers=auth)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    assert "not valid JSON" in bad.json["error"]["message"]
    huge = client.post(
        "/api/kitchen/items",
        data=json.dumps({"id": "x", "pad": "a" * 2_000_000}),
        content_type="application/json",
        headers=auth,
    )
    assert huge.status_code == 413 and huge.json["error"]["code"] == "payload_too_large"
    wrong_shape = client.post("/api/kitchen/items", json=[1, 2], headers=auth)
    assert wrong_shape.status_code == 422


def test_pages_redirect_to_sign_in_and_fragments_get_401(app):
    client = app.test_client()
    page = client.get("/kitchen/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/kitchen/")
    fragment = client.get("/kitchen/fragments/count", headers={"X-Greenroom-Fragment": "1"})
    assert fragment.status_code == 401
    token_on_page = client.get("/kitchen/", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert token_on_page.status_code == 302  # pages are for users, not service tokens
