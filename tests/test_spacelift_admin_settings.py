"""The saved connection (admin API), on SQLite and on PostgreSQL: the secret encrypted at rest
and never in an answer, precedence over app-config.yaml, a change picked up by every worker
without a restart, caches keyed by the connection, validation, the connection test, admins only."""

from __future__ import annotations

import base64
import time

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from spacelift_backend_support import (
    API,
    AUTH,
    OTHER_KEY_ID,
    TEAM,
    backend_app,
    fresh_database,
    running_sim,
    second_sim,
    signed_in,
    wait_until,
)

from host.testing import TEST_SECRET, deep_merge
from spacelift_backend.connection import ROW_TTL
from spacelift_backend.settings_store import SecretBox
from spacelift_sim import DEFAULT_KEY_ID

SECRET = "Sec-Ret-of-the-second-account-4711"


@pytest.fixture(scope="module")
def sim():
    """The account of app-config.yaml: 6 stacks."""
    with running_sim(stacks=6, seed=3) as running:
        yield running


@pytest.fixture(scope="module")
def other():
    """A second account, with other stacks and another key: 4 stacks."""
    running = second_sim(stacks=4, seed=99, secret=SECRET)
    yield running
    running.server.stop()


@pytest.fixture
def db(database_url):
    with fresh_database(database_url) as url:
        yield url


def app_on(sim, url: str, config: dict | None = None, **spacelift):
    merged = deep_merge(TEAM, {"backend": {"database": {"connection": url}}})
    return backend_app(sim, deep_merge(merged, config or {}), **spacelift)


def other_settings(other, **changes) -> dict:
    return {"hostUrl": other.host_url, "apiKey": OTHER_KEY_ID, "apiSecret": SECRET,
            "readOnly": False, **changes}  # fmt: skip


def put(client, body: dict):
    return client.put(f"{API}/admin/settings", json=body, headers={"X-CSRF-Token": client.csrf})


def try_connection(client, body: dict):
    return client.post(f"{API}/admin/test-connection", json=body, headers={"X-CSRF-Token": client.csrf})


def stack_ids(client) -> set[str]:
    response = client.get(f"{API}/stacks?perPage=100")
    assert response.status_code == 200, response.get_json()
    return {s["id"] for s in response.get_json()["items"]}


def ids_of(sim) -> set[str]:
    return {s.id for s in sim.world.all_stacks()}


# -- encryption ------------------------------------------------------------------------------


def test_the_secret_is_stored_encrypted_with_a_key_derived_from_backend_secret(sim, other, db):
    ada = signed_in(app_on(sim, db), "ada")
    assert put(ada, other_settings(other)).status_code == 200
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM spacelift_settings")).mappings().one()
    finally:
        engine.dispose()
    assert row["host_url"] == other.host_url and row["api_key"] == OTHER_KEY_ID
    assert row["saved_by"] == "user:ada" and row["read_only"] in (False, 0)
    stored = row["api_secret_encrypted"]
    for value in row.values():  # the secret is in no column, plain or base64
        assert SECRET not in str(value)
        assert base64.b64encode(SECRET.encode()).decode()[:20] not in str(value)
    # Fernet under HKDF-SHA256(backend.secret, info="greenroom/spacelift/settings-secret/v1").
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"greenroom/spacelift/settings-secret/v1").derive(TEST_SECRET.encode())  # fmt: skip
    assert Fernet(base64.urlsafe_b64encode(key)).decrypt(stored.encode()).decode() == SECRET
    assert SecretBox(TEST_SECRET).decrypt(stored) == SECRET
    # Saved again with the same secret: a fresh token (Fernet is randomised), same plain text.
    assert put(ada, other_settings(other, apiSecret="")).status_code == 200


def test_the_secret_is_never_in_any_answer_or_in_the_audit_trail(sim, other, db):
    app = app_on(sim, db)
    ada = signed_in(app, "ada")
    answers = [
        put(ada, other_settings(other)),
        ada.get(f"{API}/admin/settings"),
        try_connection(ada, other_settings(other)),
        try_connection(ada, other_settings(other, apiSecret="wrong-" + SECRET)),
        put(ada, other_settings(other, apiSecret="")),
        ada.get(f"{API}/status"),
        ada.get(f"{API}/stacks"),
        ada.get(f"{API}/audit"),
        ada.get(f"{API}/openapi.json"),
        ada.delete(f"{API}/admin/settings", headers={"X-CSRF-Token": ada.csrf}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.get_json()
        assert SECRET not in answer.get_data(as_text=True)
    view = answers[1].get_json()
    assert view["source"] == "saved" and view["inEffect"]["secretSet"] is True
    assert "apiSecret" not in view["inEffect"] and "apiSecret" not in view["saved"]
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            trail = conn.execute(sa.text("SELECT * FROM spacelift_audit")).mappings().all()
    finally:
        engine.dispose()
    assert [r["action"] for r in trail] == ["settings.update", "settings.test", "settings.test",
                                            "settings.update", "settings.revert"]  # fmt: skip
    assert all(SECRET not in str(v) for r in trail for v in r.values())
    assert trail[0]["detail"] == (f"hostUrl={other.host_url} apiKey={OTHER_KEY_ID} readOnly=false "
                                  "secret changed")  # fmt: skip
    assert trail[3]["detail"].endswith("secret kept")
    assert [r["result"] for r in trail] == ["ok", "ok", "spacelift_auth_failed", "ok", "ok"]


# -- precedence, propagation, caches -----------------------------------------------------------


def test_saved_settings_take_precedence_and_revert_goes_back_to_app_config(sim, other, db):
    app = app_on(sim, db)
    ada = signed_in(app, "ada")
    assert stack_ids(ada) == ids_of(sim)
    assert ada.get(f"{API}/admin/settings").get_json()["source"] == "config"
    saved = put(ada, other_settings(other)).get_json()
    assert saved["source"] == "saved" and saved["saved"]["savedBy"] == "user:ada"
    assert saved["inEffect"]["hostUrl"] == other.host_url and saved["config"]["hostUrl"] == sim.host_url
    assert stack_ids(ada) == ids_of(other)
    status = ada.get(f"{API}/status").get_json()
    assert status["source"] == "saved" and status["host"] == other.host_url
    reverted = ada.delete(f"{API}/admin/settings", headers={"X-CSRF-Token": ada.csrf}).get_json()
    assert reverted["source"] == "config" and reverted["saved"] is None
    assert stack_ids(ada) == ids_of(sim)


def test_a_save_reaches_every_worker_without_a_restart(sim, other, db):
    """Two apps on one database, each with its own memory cache (two workers or instances
    without Redis): the other one follows within ROW_TTL seconds (a revert travels the same
    way; the Redis test below shows it)."""
    first, second = app_on(sim, db), app_on(sim, db)
    ada, viewer = signed_in(first, "ada"), signed_in(second, "vic")
    assert stack_ids(viewer) == ids_of(sim)  # the second worker has read (and cached) "none saved"
    saved_at = time.monotonic()
    assert put(ada, other_settings(other)).status_code == 200
    assert wait_until(lambda: stack_ids(viewer) == ids_of(other), timeout=ROW_TTL + 3)
    assert time.monotonic() - saved_at <= ROW_TTL + 1.5


def test_with_a_shared_redis_every_instance_switches_at_once(sim, other, tmp_path, redis_server):
    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    redis = {"backend": {"cache": {"store": "redis", "connection": redis_server.url}}}
    first, second = app_on(sim, url, redis), app_on(sim, url, redis)
    ada, viewer = signed_in(first, "ada"), signed_in(second, "vic")
    assert stack_ids(viewer) == ids_of(sim)
    assert put(ada, other_settings(other)).status_code == 200
    assert stack_ids(viewer) == ids_of(other)  # the save deleted the shared entry: no wait
    ada.delete(f"{API}/admin/settings", headers={"X-CSRF-Token": ada.csrf})
    assert stack_ids(viewer) == ids_of(sim)


def test_a_new_connection_never_uses_the_old_token_or_answers(sim, other, db):
    app = app_on(sim, db, cacheTtlSeconds=60)  # answers stay fresh for a minute
    ada = signed_in(app, "ada")
    assert stack_ids(ada) == ids_of(sim)
    sim.reset_stats()
    other.reset_stats()
    put(ada, other_settings(other))
    assert stack_ids(ada) == ids_of(other)  # not the first account's cached list
    stats = other.stats()
    assert stats["operations"].get("apiKeyUser") == 1  # its own token, exchanged once
    assert stats["requests"] == 2  # the exchange and the list: the old token was never tried
    ada.delete(f"{API}/admin/settings", headers={"X-CSRF-Token": ada.csrf})
    assert stack_ids(ada) == ids_of(sim)
    assert sim.stats()["requests"] == 0  # back to app-config: its token and answers are kept


def test_without_a_spacelift_block_saving_makes_the_plugin_configured(other, db):
    app = app_on(None, db)
    ada = signed_in(app, "ada")
    refused = ada.get(f"{API}/stacks")
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "spacelift_not_configured"
    view = ada.get(f"{API}/admin/settings").get_json()
    assert view == {"source": "none", "inEffect": None, "saved": None, "config": None, "problem": None}
    assert put(ada, other_settings(other)).status_code == 200
    assert stack_ids(ada) == ids_of(other)
    status = ada.get(f"{API}/status").get_json()
    assert status["configured"] is True and status["connected"] is True and status["source"] == "saved"


def test_blank_secret_keeps_the_stored_one_and_read_only_applies_at_once(sim, other, db):
    app = app_on(sim, db)
    ada = signed_in(app, "ada")
    put(ada, other_settings(other))
    assert put(ada, other_settings(other, apiSecret="", readOnly=True)).status_code == 200
    assert stack_ids(ada) == ids_of(other)  # the stored secret still works
    stack = sorted(ids_of(other))[0]
    refused = ada.post(f"{API}/stacks/{stack}/trigger", headers={"X-CSRF-Token": ada.csrf})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "spacelift_read_only"
    assert ada.get(f"{API}/stacks").get_json()["canTrigger"] is False
    assert ada.get(f"{API}/status").get_json()["readOnly"] is True


def test_a_changed_backend_secret_leaves_the_saved_secret_unreadable_and_says_so(sim, other, db):
    ada = signed_in(app_on(sim, db), "ada")
    put(ada, other_settings(other))
    rekeyed = app_on(sim, db, {"backend": {"secret": "another-secret-0123456789abcdef-xyz"}})
    admin = signed_in(rekeyed, "ada")
    view = admin.get(f"{API}/admin/settings").get_json()
    assert view["source"] == "config" and view["saved"]["apiKey"] == OTHER_KEY_ID
    assert "cannot be decrypted" in view["problem"]
    assert stack_ids(admin) == ids_of(sim)  # app-config.yaml meanwhile


# -- validation and the connection test ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hostUrl": "http://acme.app.spacelift.io"}, "hostUrl", "http:// is allowed only for a loopback host"),
        ({"hostUrl": "acme.app.spacelift.io/graphql"}, "hostUrl", 'must not contain a path ("/graphql")'),
        ({"hostUrl": ""}, "hostUrl", "required"),
        ({"apiKey": " "}, "apiKey", "required"),
        ({"apiKey": "has space"}, "apiKey", "no spaces"),
        ({"readOnly": "yes"}, "readOnly", "must be true or false"),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_invalid_settings_are_a_422_with_a_message_per_field(sim, other, tmp_path, changes, field, message):
    app = app_on(sim, f"sqlite:///{tmp_path}/v.sqlite3")
    ada = signed_in(app, "ada")
    for send in (put, try_connection):
        response = send(ada, other_settings(other, **changes))
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "invalid_settings" and message in error["fields"][field]
    assert ada.get(f"{API}/admin/settings").get_json()["source"] == "config"  # nothing saved


def test_a_secret_is_required_while_none_is_stored(other, tmp_path):
    ada = signed_in(app_on(None, f"sqlite:///{tmp_path}/s.sqlite3"), "ada")
    response = put(ada, other_settings(other, apiSecret=""))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"apiSecret": "required: no secret is stored yet"}


def test_test_connection_reports_success_or_the_failure_with_its_hint(sim, other, tmp_path):
    ada = signed_in(app_on(sim, f"sqlite:///{tmp_path}/t.sqlite3"), "ada")
    good = try_connection(ada, other_settings(other)).get_json()
    assert good == {"ok": True, "host": other.host_url,
                    "viewer": {"id": OTHER_KEY_ID, "name": "sim-api-key"}}  # fmt: skip
    bad = try_connection(ada, other_settings(other, apiSecret="not-the-secret")).get_json()
    assert bad["ok"] is False and bad["error"]["code"] == "spacelift_auth_failed"
    assert "the secret may be wrong" in bad["error"]["message"]
    assert bad["error"]["hint"].startswith("Check that spacelift.apiKey (the key id) and spacelift.apiSecret")
    unknown = try_connection(ada, other_settings(other, apiKey="01NOSUCHKEY0000000000000ZZ")).get_json()
    assert unknown["error"]["code"] == "spacelift_auth_failed"
    assert "does not know the API key id" in unknown["error"]["message"]
    away = try_connection(ada, other_settings(other, hostUrl="127.0.0.1:1")).get_json()
    assert away["ok"] is False and away["error"]["code"] == "spacelift_unreachable"
    # A blank secret tests the one in effect (app-config.yaml's, for the first account).
    same = {"hostUrl": sim.host_url, "apiKey": DEFAULT_KEY_ID, "apiSecret": ""}
    assert try_connection(ada, same).get_json()["ok"] is True
    # Testing never changes the connection in effect.
    assert ada.get(f"{API}/admin/settings").get_json()["source"] == "config"
    assert stack_ids(ada) == ids_of(sim)


def test_the_admin_routes_are_for_admins_only(sim, other, tmp_path):
    app = app_on(sim, f"sqlite:///{tmp_path}/a.sqlite3")
    token = app.test_client()
    for who in ("vic", "tara"):
        client = signed_in(app, who)
        headers = {"X-CSRF-Token": client.csrf}
        assert client.get(f"{API}/admin/settings").status_code == 403
        assert client.put(f"{API}/admin/settings", json=other_settings(other), headers=headers).status_code == 403
        assert client.delete(f"{API}/admin/settings", headers=headers).status_code == 403
        assert try_connection(client, other_settings(other)).status_code == 403
    assert token.get(f"{API}/admin/settings", headers=AUTH).status_code == 403
    assert token.put(f"{API}/admin/settings", json=other_settings(other), headers=AUTH).status_code == 403
    ada = signed_in(app, "ada")
    assert ada.get(f"{API}/admin/settings").get_json()["source"] == "config"  # nothing changed
    denied = ada.get(f"{API}/audit?action=settings.update&result=denied").get_json()
    assert {e["user"] for e in denied["items"]} == {"user:vic", "user:tara", "service:ci"}
