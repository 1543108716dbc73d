"""The spacelift block: hostUrl validation (one test per case, with its message), the optional
keys, TLS with caBundle, the proxy, and the "not configured" mode."""

from __future__ import annotations

import logging
import threading

import pytest
import requests
from flask import Flask, Response, request
from spacelift_backend_support import API, AUTH, backend_app, running_sim
from werkzeug.serving import make_server

from host import ConfigError
from host.testing import sign_in
from spacelift_backend.config import Settings, parse_host_url
from spacelift_sim.testing import self_signed_certificate

# -- hostUrl: accepted -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "warned"),
    [
        ("acme.app.spacelift.io", "https://acme.app.spacelift.io", False),
        ("acme.app.spacelift.io:8443", "https://acme.app.spacelift.io:8443", False),
        ("  acme.app.spacelift.io/  ", "https://acme.app.spacelift.io", False),
        ("https://acme.app.spacelift.io", "https://acme.app.spacelift.io", True),
        ("127.0.0.1:7070", "http://127.0.0.1:7070", False),
        ("localhost:7070", "http://localhost:7070", False),
        ("[::1]:7070", "http://[::1]:7070", False),
        ("http://127.0.0.1:7070", "http://127.0.0.1:7070", False),
        # an explicit https:// to a loopback host keeps TLS (without it, http is used): no warning
        ("https://127.0.0.1:7443", "https://127.0.0.1:7443", False),
    ],
)
def test_accepted_host_urls(value, expected, warned):
    parsed = parse_host_url(value)
    assert parsed.base_url == expected
    assert parsed.graphql_url == expected + "/graphql"
    assert bool(parsed.warnings) is warned


def test_a_leading_https_is_tolerated_dropped_and_warned_about(caplog):
    parsed = parse_host_url("https://acme.app.spacelift.io")
    assert parsed.base_url == "https://acme.app.spacelift.io"
    assert parsed.warnings == (
        'spacelift.hostUrl: the "https://" prefix is not needed and was dropped '
        "(write acme.app.spacelift.io)",
    )
    caplog.set_level(logging.WARNING)
    app = backend_app(None, {"spacelift": {"hostUrl": "https://acme.app.spacelift.io",
                                           "apiKey": "k", "apiSecret": "s"}})  # fmt: skip
    assert 'the "https://" prefix is not needed' in caplog.text
    assert app.test_client().get(f"{API}/health").status_code == 200


# -- hostUrl: refused, each with its message -------------------------------------------------

REFUSED = {
    "empty": ("", "must not be empty"),
    "spaces": ("acme app.spacelift.io", "must not contain spaces: write the bare host"),
    "path": ("acme.app.spacelift.io/graphql",
             'must not contain a path ("/graphql"): write the bare host; Greenroom adds /graphql itself'),
    "query": ("acme.app.spacelift.io?account=acme", "must not contain a query string"),
    "fragment": ("acme.app.spacelift.io#x", "must not contain a fragment"),
    "http_not_loopback": ("http://acme.app.spacelift.io",
                          "http:// is allowed only for a loopback host (127.0.0.1, ::1 or localhost)"),
    "other_scheme": ("ftp://acme.app.spacelift.io", '"ftp://" is not supported'),
    "credentials": ("user:pw@acme.app.spacelift.io", "must not contain credentials"),
    "bad_port": ("acme.app.spacelift.io:99999", "the port must be a number between 1 and 65535"),
    "bad_host": ("acme_!.io", '"acme_!.io" is not a valid host name or address'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_host_urls_say_why(case):
    value, message = REFUSED[case]
    with pytest.raises(ValueError) as caught:
        parse_host_url(value)
    assert message in str(caught.value)
    # the same message reaches `greenroom config check` / startup, naming the key
    with pytest.raises(ConfigError) as startup:
        backend_app(None, {"spacelift": {"hostUrl": value, "apiKey": "k", "apiSecret": "s"}})
    problems = [p for p in startup.value.problems if p.key == "spacelift.hostUrl"]
    assert len(problems) == 1 and message in problems[0].message


# -- the rest of the block -------------------------------------------------------------------


def test_defaults_of_the_optional_keys():
    app = backend_app(None, {"spacelift": {"hostUrl": "acme.app.spacelift.io", "apiKey": "k",
                                           "apiSecret": "s"}})  # fmt: skip
    config = app.extensions["greenroom"].contexts[("backend", "spacelift")].config
    settings = Settings.from_config(config)
    assert (settings.read_only, settings.poll_interval, settings.cache_ttl,
            settings.request_timeout, settings.proxy, settings.ca_bundle) == (
        False, 10, 5.0, 10.0, None, None)  # fmt: skip
    assert settings.verify is True and settings.proxies is None


def test_every_problem_in_the_block_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as caught:
        backend_app(None, {"spacelift": {
            "hostUrl": "acme.app.spacelift.io", "apiKey": "k", "apiSecrte": "s",
            "readOnly": "maybe", "cacheTtlSeconds": 0, "proxy": "proxy.internal",
            "caBundle": str(tmp_path / "missing.pem"),
        }})  # fmt: skip
    found = {p.key: p.message for p in caught.value.problems}
    assert found["spacelift.apiSecret"] == "required value missing"
    assert 'did you mean "apiSecret"' in found["spacelift.apiSecrte"]
    assert found["spacelift.readOnly"].startswith("expected a boolean")
    assert found["spacelift.cacheTtlSeconds"] == "must be at least 0.1"
    assert "must be a proxy URL" in found["spacelift.proxy"]
    assert "no such file" in found["spacelift.caBundle"]


def test_without_the_block_the_plugin_is_not_configured_and_the_host_runs_on():
    app = backend_app(None)
    client = app.test_client()
    for url in ("/stacks", "/summary", "/stacks/a-stack", "/stacks/a-stack/runs"):
        response = client.get(API + url, headers=AUTH)
        assert response.status_code == 503
        error = response.get_json()["error"]
        assert error["code"] == "spacelift_not_configured"
        assert len(error["steps"]) == 4 and "spacelift:" in error["steps"][1]
        assert "/administration/spacelift/" in error["steps"][3]
    # The permission is asked first (the token may only read), then the configuration.
    refused = client.post(f"{API}/stacks/a-stack/trigger", headers=AUTH)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    admin = app.test_client()
    csrf = sign_in(admin)
    trigger = admin.post(f"{API}/stacks/a-stack/trigger", headers={"X-CSRF-Token": csrf})
    assert trigger.get_json()["error"]["code"] == "spacelift_not_configured"
    status = client.get(f"{API}/status", headers=AUTH)
    assert status.status_code == 200
    assert status.get_json()["configured"] is False
    assert status.get_json()["lastError"]["code"] == "spacelift_not_configured"
    assert client.get(f"{API}/health").get_json() == {"status": "ok"}
    assert client.get(f"{API}/openapi.json", headers=AUTH).status_code == 200
    assert client.get("/healthz").status_code == 200


# -- TLS and the proxy -----------------------------------------------------------------------


def test_https_with_a_private_ca_needs_ca_bundle(tmp_path, caplog):
    cert, key = self_signed_certificate(tmp_path)
    with running_sim(ssl_context=(cert, key)) as tls:
        assert tls.url.startswith("https://")
        host_url = "https://" + tls.host_url
        trusted = backend_app(tls, hostUrl=host_url, caBundle=cert)
        response = trusted.test_client().get(f"{API}/stacks", headers=AUTH)
        assert response.status_code == 200 and response.get_json()["total"] == 20
        untrusted = backend_app(tls, hostUrl=host_url)
        refused = untrusted.test_client().get(f"{API}/stacks", headers=AUTH)
        assert refused.status_code == 503
        assert "set spacelift.caBundle" in refused.get_json()["error"]["message"]


def _forward_proxy(seen: list[str]) -> Flask:
    """A minimal HTTP forward proxy: it receives absolute-form request targets."""
    proxy = Flask("test-proxy")

    @proxy.route("/<path:_rest>", methods=["POST"])
    def forward(_rest: str) -> Response:
        target = request.environ.get("REQUEST_URI") or request.url
        seen.append(target)
        headers = {k: v for k, v in request.headers if k.lower() in ("content-type", "authorization")}
        upstream = requests.post(target, data=request.get_data(), headers=headers, timeout=5)
        return Response(upstream.content, upstream.status_code,
                        content_type=upstream.headers.get("Content-Type"))  # fmt: skip

    return proxy


def test_calls_go_through_the_configured_proxy():
    seen: list[str] = []
    server = make_server("127.0.0.1", 0, _forward_proxy(seen), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with running_sim() as sim:
            app = backend_app(sim, proxy=f"http://127.0.0.1:{server.server_port}")
            response = app.test_client().get(f"{API}/stacks", headers=AUTH)
            assert response.status_code == 200 and response.get_json()["total"] == 20
            assert seen and all(url == sim.url + "/graphql" for url in seen)
            assert len(seen) == 2  # the token exchange and the stack query
    finally:
        server.shutdown()
        server.server_close()


def test_a_proxy_that_is_down_is_reported_as_such():
    with running_sim() as sim:
        app = backend_app(sim, proxy="http://127.0.0.1:1")
        response = app.test_client().get(f"{API}/stacks", headers=AUTH)
        assert response.status_code == 503
        message = response.get_json()["error"]["message"]
        assert "the proxy (spacelift.proxy) refused or failed" in message
        assert sim.stats()["requests"] == 0  # nothing went around the proxy
