"""Config.peek: the hot paths read config without a deep copy per request."""

from __future__ import annotations

import copy

from host.config import Config
from host.testing import make_app


def test_peek_reads_like_get_without_copying():
    cfg = Config({"permission": {"rules": [{"users": ["a"], "allow": ["x"]}]}, "empty": None})
    assert cfg.peek("permission.rules") == cfg.get("permission.rules")
    assert cfg.peek("permission.rules") is cfg.peek("permission.rules")
    assert cfg.get("permission.rules") is not cfg.get("permission.rules")
    assert cfg.peek("permission.rules[0].allow") == ["x"]
    assert cfg.peek("nothing", 5) == 5 and cfg.peek("empty", 5) == 5


def test_requests_do_not_change_the_config(monkeypatch):
    app = make_app({"backend": {"auth": {"externalAccess": [
        {"type": "static", "options": {"token": "a-static-token-0123456789", "subject": "ci"}}]}},
        "permission": {"rules": [{"subjects": ["ci"], "allow": ["hello.*"]}]}},
        load_entrypoints=True)  # fmt: skip
    config = app.extensions["greenroom"].config
    before = copy.deepcopy(config.redacted())
    client = app.test_client()
    ok = client.get("/api/hello/greet", headers={"Authorization": "Bearer a-static-token-0123456789"})
    assert ok.status_code == 200
    client.get("/api/hello/greet", headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert config.redacted() == before
