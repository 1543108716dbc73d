"""Discovery from entry points, failures that stay local, and the plugin listing."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import kitchen_plugin
import pytest
from click.testing import CliRunner

from host import BackendPlugin, FrontendPlugin, hookimpl
from host.cli import main
from host.config import ConfigError
from host.plugins import PluginError
from host.testing import make_app, sign_in


def fake_distribution(root: Path, dist: str, module: str, source: str, ep_name: str) -> None:
    """Write an installed distribution (module + dist-info with an entry point) under root."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-0.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.0\n")
    (info / "entry_points.txt").write_text(f"[greenroom.plugins]\n{ep_name} = {module}\n")


@pytest.fixture
def broken_dist(tmp_path, monkeypatch):
    fake_distribution(
        tmp_path, "broken-plugin", "broken_plugin",
        'raise RuntimeError("this plugin is broken on purpose")\n', "broken",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_hello_is_discovered_through_its_entry_point():
    app = make_app(load_entrypoints=True)
    records = {(r.name, r.kind): r for r in app.extensions["greenroom"].records}
    backend = records[("hello", "backend")]
    assert backend.status == "ok" and backend.mount == "/api/hello"
    assert backend.distribution == "greenroom-hello" and backend.version == "1.0.0"
    assert records[("hello", "frontend")].mount == "/hello"


def test_hello_nav_page_fragment_and_api_work():
    app = make_app(load_entrypoints=True, config={"hello": {"greeting": "Ahoy"}})
    client = app.test_client()
    csrf = sign_in(client)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/hello/"' in home and "Hello" in home
    page = client.get("/hello/").get_data(as_text=True)
    assert "Ahoy, Guest!" in page and 'data-live-src="/hello/fragments/waves"' in page
    waved = client.post("/api/hello/wave", headers={"X-CSRF-Token": csrf})
    assert waved.status_code == 200 and waved.json["waves"] == 1
    fragment = client.get("/hello/fragments/waves")
    assert fragment.status_code == 200 and ">1</strong> wave so far" in fragment.get_data(as_text=True)
    again = client.get("/hello/fragments/waves", headers={"If-None-Match": fragment.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    form = client.post("/hello/wave", data={"csrf_token": csrf})
    assert form.status_code == 302
    assert client.get("/api/hello/greet").json["waves"] == 2


def test_plugins_json_lists_hello():
    result = CliRunner().invoke(main, ["plugins", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    hello = [r for r in rows if r["name"] == "hello"]
    assert {(r["kind"], r["id"], r["mount"], r["status"], r["version"]) for r in hello} == {
        ("backend", "hello", "/api/hello", "ok", "1.0.0"),
        ("frontend", "hello", "/hello", "ok", "1.0.0"),
    }


@pytest.mark.parametrize("name", ["hello"])
def test_plugins_disabled_removes_hello(name):
    app = make_app({"plugins": {"disabled": [name]}}, load_entrypoints=True)
    client = app.test_client()
    sign_in(client)
    assert client.get("/hello/").status_code == 404
    assert client.get("/api/hello/greet").status_code == 404
    assert 'href="/hello/"' not in client.get("/").get_data(as_text=True)
    statuses = {r.status for r in app.extensions["greenroom"].records if r.name == "hello"}
    assert statuses == {"disabled"}


def test_unknown_name_in_plugins_disabled_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        make_app({"plugins": {"disabled": ["helo"]}}, load_entrypoints=True)
    (problem,) = err.value.problems
    assert problem.key == "plugins.disabled[0]"
    assert "no installed plugin is named 'helo'" in problem.message and "did you mean \"hello\"?" in problem.message


def test_a_plugin_that_raises_at_import_is_listed_failed_and_the_rest_serve(broken_dist):
    app = make_app(load_entrypoints=True)
    broken = [r for r in app.extensions["greenroom"].records if r.name == "broken"]
    assert len(broken) == 1 and broken[0].status == "failed"
    assert "RuntimeError: this plugin is broken on purpose" in broken[0].error
    assert broken[0].version == "0.3.0"
    client = app.test_client()
    sign_in(client)
    assert client.get("/hello/").status_code == 200
    listing = client.get("/-/plugins").get_data(as_text=True)
    assert "broken" in listing and "this plugin is broken on purpose" in listing
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "broken" in ready.json["failedPlugins"]
    result = CliRunner().invoke(main, ["plugins"], catch_exceptions=False)
    assert "failed: import failed: RuntimeError: this plugin is broken on purpose" in result.stdout


class _SetupFails:
    @hookimpl
    def register_backend_plugins(self, host):
        def setup(ctx):
            raise ValueError("cannot reach the moon")
        return [BackendPlugin(id="moon", setup=setup)]


class _Misspelt:
    __name__ = "misspelt"

    @hookimpl
    def register_backend_plugin(self, host):  # missing the final "s"
        return []


class _Orphan:
    @hookimpl
    def register_frontend_plugins(self, host):
        return [FrontendPlugin(id="orphan", setup=lambda ctx: None, backend="nowhere")]


class _RaisesInHook:
    @hookimpl
    def register_backend_plugins(self, host):
        raise KeyError("oops")


def test_failures_stay_local_and_are_reported():
    app = make_app(plugins=[kitchen_plugin, _SetupFails(), _Misspelt(), _Orphan(), _RaisesInHook()])
    records = app.extensions["greenroom"].records
    by_id = {r.id: r for r in records if r.id}
    assert by_id["moon"].status == "failed" and "cannot reach the moon" in by_id["moon"].error
    assert by_id["orphan"].status == "failed" and "'nowhere'" in by_id["orphan"].error
    misspelt = [r for r in records if r.name == "misspelt"][0]
    assert misspelt.status == "failed" and "register_backend_plugin" in misspelt.error
    raised = [r for r in records if r.name == "_RaisesInHook"][0]
    assert raised.status == "failed" and "KeyError" in raised.error
    client = app.test_client()
    sign_in(client)
    assert client.get("/api/kitchen/items").status_code == 200
    assert client.get("/api/moon/anything").status_code == 404


class _Twin:
    __name__ = "kitchen-twin"

    @hookimpl
    def register_backend_plugins(self, host):
        return [BackendPlugin(id="kitchen", setup=lambda ctx: None)]


def test_two_plugins_with_one_id_fail_startup_naming_both():
    with pytest.raises(PluginError) as err:
        make_app(plugins=[kitchen_plugin, _Twin()])
    assert "'kitchen_plugin'" in str(err.value) and "'kitchen-twin'" in str(err.value)


def test_plugin_config_block_is_validated_with_its_schema():
    with pytest.raises(ConfigError) as err:
        make_app({"kitchen": {"moto": "x"}}, plugins=[kitchen_plugin])
    assert any(p.key == "kitchen.moto" and "did you mean \"motto\"" in p.message for p in err.value.problems)
    app = make_app({"kitchen": {"motto": "bake"}}, plugins=[kitchen_plugin])
    assert app.extensions["greenroom"].contexts[("backend", "kitchen")].config.get("motto") == "bake"


def test_a_block_for_no_installed_plugin_is_an_unknown_key():
    with pytest.raises(ConfigError) as err:
        make_app({"kitchenn": {}}, plugins=[kitchen_plugin])
    assert any(p.key == "kitchenn" and "kitchen" in p.message for p in err.value.problems)
