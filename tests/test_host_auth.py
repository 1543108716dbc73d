"""Sign-in providers, sessions and the in-process API client's identity."""

from __future__ import annotations

import time

import kitchen_plugin
import pytest
from click.testing import CliRunner
from werkzeug.security import generate_password_hash

from host.app import StartupError
from host.auth import InvalidCredentials, Principal, issue_internal_token, verify_internal_token
from host.cli import main
from host.testing import csrf_from, make_app, sign_in

ADA_HASH = generate_password_hash("correct horse battery")
PASSWORD_CONFIG = {
    "auth": {
        "providers": {
            "guest": None,
            "password": {"users": {"ada": {"passwordHash": ADA_HASH, "groups": ["platform"]}}},
        },
        "throttle": {"maxFailures": 3, "windowSeconds": 60},
    }
}


def password_app():
    return make_app(PASSWORD_CONFIG, plugins=[kitchen_plugin])


def post_login(client, **form):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "provider": "password", **form})


def test_guest_is_refused_in_production():
    with pytest.raises(StartupError, match="dangerouslyAllowOutsideDevelopment"):
        make_app({"app": {"environment": "production"}})
    make_app(
        {"app": {"environment": "production"},
         "auth": {"providers": {"guest": {"dangerouslyAllowOutsideDevelopment": True}}}}
    )


def test_production_without_secret_is_refused_and_says_what_to_set(tmp_path):
    cfg = tmp_path / "prod.yaml"
    cfg.write_text("app:\n  environment: production\nauth:\n  providers:\n    guest: {}\n")
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "Set backend.secret" in result.output
    assert "auth.providers.guest.dangerouslyAllowOutsideDevelopment: true" in result.output


def test_password_is_checked_against_its_hash():
    app = password_app()
    client = app.test_client()
    wrong = post_login(client, username="ada", password="wrong password")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.get_data(as_text=True)
    assert client.get("/api/kitchen/items").status_code == 401
    right = post_login(client, username="ada", password="correct horse battery")
    assert right.status_code == 302
    me = client.get("/api/kitchen/items")
    assert me.status_code == 200 and me.json["who"] == "user:ada"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password():
    client = password_app().test_client()
    answer = post_login(client, username="nobody", password="whatever1")
    assert answer.status_code == 401 and "Wrong user name or password" in answer.get_data(as_text=True)


def test_repeated_failures_are_throttled_per_user_and_per_address():
    app = password_app()
    client = app.test_client()
    for _ in range(3):
        assert post_login(client, username="ada", password="nope-nope").status_code == 401
    blocked = post_login(client, username="ada", password="correct horse battery")
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    # per address: another user name from the same address is blocked too
    other = app.test_client()
    assert post_login(other, username="bob", password="x-x-x-x-x").status_code == 429
    # from another address, ada is still blocked (per user)
    far = app.test_client()
    far.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert post_login(far, username="ada", password="correct horse battery").status_code == 429


def test_throttle_window_passes(monkeypatch):
    app = password_app()
    client = app.test_client()
    for _ in range(3):
        post_login(client, username="ada", password="nope-nope")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    assert post_login(client, username="ada", password="correct horse battery").status_code == 302


def proxy_app(trusted):
    return make_app(
        {"auth": {"providers": {"guest": None, "proxy": {"header": "X-Forwarded-User",
                                                         "groupsHeader": "X-Forwarded-Groups",
                                                         "trustedProxies": trusted}}}},
        plugins=[kitchen_plugin],
    )


def test_proxy_header_is_accepted_from_a_trusted_address():
    client = proxy_app(["127.0.0.0/8"]).test_client()
    response = client.get("/api/kitchen/items", headers={"X-Forwarded-User": "grace"})
    assert response.status_code == 200 and response.json["who"] == "user:grace"
    assert response.json["via"] == "proxy"


def test_proxy_header_is_ignored_from_an_untrusted_address(caplog):
    client = proxy_app(["10.1.2.3"]).test_client()
    response = client.get("/api/kitchen/items", headers={"X-Forwarded-User": "mallory"})
    assert response.status_code == 401
    assert "untrusted address 127.0.0.1" in caplog.text


def test_session_cookie_flags_and_rotation():
    app = make_app({"app": {"baseUrl": "https://portal.example.org"}})
    client = app.test_client()
    before = csrf_from(client.get("/login").get_data(as_text=True))
    token = before
    response = client.post("/login", data={"csrf_token": token, "provider": "guest", "next": "/"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    after = csrf_from(client.get("/").get_data(as_text=True))
    assert after != before  # a fresh session: the pre-sign-in token is gone


def test_http_base_url_cookie_is_not_secure():
    client = make_app().test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "provider": "guest"})
    assert "Secure" not in response.headers["Set-Cookie"]


def test_sign_in_needs_the_form_token_and_never_redirects_off_site():
    client = make_app().test_client()
    client.get("/login")
    forged = client.post("/login", data={"csrf_token": "forged", "provider": "guest"})
    assert forged.status_code == 400
    token = csrf_from(client.get("/login").get_data(as_text=True))
    offsite = client.post("/login", data={"csrf_token": token, "provider": "guest",
                                          "next": "https://evil.example/"})
    assert offsite.headers["Location"] == "/"


def test_sign_out_needs_csrf_and_ends_the_session():
    app = make_app(plugins=[kitchen_plugin])
    client = app.test_client()
    csrf = sign_in(client)
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/api/kitchen/items").status_code == 401


def test_admin_only_config_page():
    app = make_app({"permission": {"admins": []}})
    client = app.test_client()
    sign_in(client)
    assert client.get("/-/config").status_code == 403


def test_ctx_api_calls_through_the_barrier_as_the_current_user():
    app = make_app(plugins=[kitchen_plugin])
    client = app.test_client()
    sign_in(client)
    page = client.get("/kitchen/")
    assert page.json == {"page": True, "backend": {"items": [], "who": "user:guest", "via": "internal"}, "status": 200}


def test_internal_tokens_are_bound_to_one_plugin_and_expire(monkeypatch):
    app = make_app(plugins=[kitchen_plugin])
    ada = Principal(kind="user", name="ada")
    with app.test_request_context():
        token = issue_internal_token(ada, "kitchen")
        assert verify_internal_token(token, "kitchen").name == "ada"
        with pytest.raises(InvalidCredentials, match="another plugin"):
            verify_internal_token(token, "hello")
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 120)
        with pytest.raises(InvalidCredentials, match="expired"):
            verify_internal_token(token, "kitchen")
    client = app.test_client()
    with app.test_request_context():
        token = issue_internal_token(ada, "hello")
    assert client.get("/api/kitchen/items", headers={"Authorization": f"Bearer {token}"}).status_code == 401
