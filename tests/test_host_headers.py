"""Security headers on pages, fragments and API responses."""

from __future__ import annotations

import kitchen_plugin
import pytest

from host.testing import make_app, sign_in


@pytest.fixture(scope="module")
def client():
    app = make_app(plugins=[kitchen_plugin], load_entrypoints=True)
    c = app.test_client()
    sign_in(c)
    return c


@pytest.mark.parametrize(
    "url", ["/", "/hello/", "/hello/fragments/waves", "/kitchen/fragments/count",
            "/api/kitchen/items", "/api/hello/greet", "/login", "/api/nowhere", "/healthz"],
)
def test_security_headers(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_script(client):
    anonymous = client.application.test_client()
    pages = [(client, "/"), (client, "/hello/"), (client, "/-/plugins"), (anonymous, "/login")]
    for c, url in pages:
        response = c.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "<script>" not in html and "<script " in html  # only <script src=...>
        assert " on" + "click=" not in html
