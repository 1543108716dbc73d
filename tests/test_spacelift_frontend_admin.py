"""The connection page at /administration/spacelift/ without a browser: admins only, CSRF, the
source in effect, messages beside the fields, the test result with its hint, save and revert,
and a secret that is never rendered back."""

from __future__ import annotations

import re

import pytest
from spacelift_backend_support import OTHER_KEY_ID, TEAM, running_sim, second_sim, signed_in

import spacelift_backend.plugin as backend_plugin
import spacelift_frontend.plugin as frontend_plugin
from host.testing import deep_merge, make_app
from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET

SECRET = "frontend-admin-secret-9876"
PAGE = "/administration/spacelift/"


@pytest.fixture(scope="module")
def sims():
    with running_sim(stacks=3, seed=2) as first:
        other = second_sim(stacks=2, seed=77, secret=SECRET)
        try:
            yield first, other
        finally:
            other.server.stop()


@pytest.fixture
def app(sims, tmp_path):
    first, _other = sims
    config = deep_merge(TEAM, {
        "backend": {"database": {"connection": f"sqlite:///{tmp_path}/admin.sqlite3"}},
        "spacelift": {"hostUrl": first.host_url, "apiKey": DEFAULT_KEY_ID, "apiSecret": DEFAULT_KEY_SECRET},
    })  # fmt: skip
    return make_app(config, plugins=[backend_plugin, frontend_plugin])


def form(client, **fields) -> dict:
    return {"csrf_token": client.csrf, **fields}


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="(\w+)">([^<]*)<', html))


def test_only_admins_reach_the_page_and_it_is_linked_for_them(app):
    ada, vic = signed_in(app, "ada"), signed_in(app, "vic")
    page = ada.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Spacelift connection</h1>" in html
    assert 'data-source="config"' in html and "From app-config.yaml" in html
    for label in ("Host URL", "API Key ID", "API Key Secret", "Read-only"):
        assert label in html
    assert 'name="apiSecret" type="password" value=""' in html
    assert DEFAULT_KEY_SECRET not in html  # app-config.yaml's secret is not shown either
    assert f'href="{PAGE}">Spacelift connection' in ada.get("/").get_data(as_text=True)
    assert vic.get(PAGE).status_code == 403
    assert vic.post(PAGE, data=form(vic, hostUrl="x", apiKey="y")).status_code == 403


def test_the_form_needs_its_csrf_token(app):
    ada = signed_in(app, "ada")
    response = ada.post(PAGE, data={"hostUrl": "acme.app.spacelift.io", "apiKey": "k", "intent": "save"})
    assert response.status_code == 400
    assert 'data-source="config"' in ada.get(PAGE).get_data(as_text=True)


def test_invalid_values_get_messages_beside_their_fields(app):
    ada = signed_in(app, "ada")
    response = ada.post(PAGE, data=form(ada, hostUrl="http://acme.app.spacelift.io/graphql",
                                        apiKey="", apiSecret="", intent="save"))  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = field_errors(html)
    assert set(errors) == {"hostUrl", "apiKey"}
    assert errors["apiKey"] == "required: the API key id"
    assert "must not contain a path" in errors["hostUrl"]
    assert 'aria-describedby="hostUrl-help hostUrl-error" aria-invalid="true"' in html
    assert 'value="http://acme.app.spacelift.io/graphql"' in html  # kept for correction


def test_test_connection_reports_bad_credentials_with_the_hint(app, sims):
    _first, other = sims
    ada = signed_in(app, "ada")
    bad = ada.post(PAGE, data=form(ada, hostUrl=other.host_url, apiKey=OTHER_KEY_ID,
                                   apiSecret="wrong-" + SECRET, intent="test"))  # fmt: skip
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and 'data-error-code="spacelift_auth_failed"' in html
    assert "Connection test failed:" in html and "the secret may be wrong" in html
    assert re.search(r'data-testid="error-hint">Check that spacelift.apiKey \(the key id\) and '
                     r"spacelift.apiSecret are correct", html)  # fmt: skip
    assert SECRET not in html
    good = ada.post(PAGE, data=form(ada, hostUrl=other.host_url, apiKey=OTHER_KEY_ID,
                                    apiSecret=SECRET, intent="test")).get_data(as_text=True)  # fmt: skip
    assert f"Connected to {other.host_url}" in good and f"({OTHER_KEY_ID})" in good
    assert SECRET not in good
    assert 'data-source="config"' in good  # a test saves nothing


def test_save_then_revert_and_the_secret_is_never_rendered(app, sims):
    first, other = sims
    ada = signed_in(app, "ada")
    saved = ada.post(PAGE, data=form(ada, hostUrl=other.host_url, apiKey=OTHER_KEY_ID,
                                     apiSecret=SECRET, readOnly="on", intent="save"))  # fmt: skip
    assert saved.status_code == 302 and saved.headers["Location"] == f"{PAGE}?done=saved"
    html = ada.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved. Every page uses the new connection" in html
    assert 'data-source="saved"' in html and "by user:ada" in html
    assert f'value="{other.host_url}"' in html and f'value="{OTHER_KEY_ID}"' in html
    assert 'name="readOnly" checked' in html
    assert 'placeholder="Leave blank to keep the stored secret"' in html
    assert SECRET not in html and 'name="apiSecret" type="password" value=""' in html
    overview = ada.get("/spacelift/").get_data(as_text=True)
    assert all(f'data-stack-id="{s.id}"' in overview for s in other.world.all_stacks())
    assert "Trigger run" not in overview  # read-only now
    # Blank keeps the stored secret.
    kept = ada.post(PAGE, data=form(ada, hostUrl=other.host_url, apiKey=OTHER_KEY_ID,
                                    apiSecret="", intent="save"))  # fmt: skip
    assert kept.status_code == 302
    assert ada.get("/spacelift/").status_code == 200
    reverted = ada.post(PAGE, data=form(ada, hostUrl="", apiKey="", intent="revert"))
    assert reverted.headers["Location"] == f"{PAGE}?done=reverted"
    html = ada.get(reverted.headers["Location"]).get_data(as_text=True)
    assert 'data-source="config"' in html and "app-config.yaml is in effect again" in html
    overview = ada.get("/spacelift/").get_data(as_text=True)
    assert all(f'data-stack-id="{s.id}"' in overview for s in first.world.all_stacks())
