"""`greenroom config check`, `hash-password` and the other commands."""

from __future__ import annotations

from click.testing import CliRunner
from werkzeug.security import check_password_hash

from host.cli import main

BAD = """\
app:
  title: Portal
  environment: development
backend:
  secret: ${GREENROOM_TEST_SECRET_THAT_IS_NOT_SET}
  listen:
    port: ten
  cahce:
    store: memory
auth:
  providers:
    guest: {}
"""


def test_config_check_lists_every_problem_of_one_bad_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GREENROOM_TEST_SECRET_THAT_IS_NOT_SET", raising=False)
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 1
    out = result.stdout
    assert "3 problem(s)" in out
    assert f"{path}:5: backend.secret: environment variable GREENROOM_TEST_SECRET_THAT_IS_NOT_SET is not set" in out
    assert f"{path}:7: backend.listen.port: expected an integer" in out and '"ten"' in out
    assert f'{path}:8: backend.cahce: unknown key (did you mean "cache"?)' in out


def test_config_check_ok(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text("app:\n  environment: development\nauth:\n  providers:\n    guest: {}\n")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0 and result.stdout.strip() == "ok"


def test_config_check_layers_files_and_reports_broken_yaml(tmp_path):
    base = tmp_path / "a.yaml"
    base.write_text("app:\n  title: [unclosed\n")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(base)])
    assert result.exit_code == 1 and f"{base}:" in result.stdout and "invalid YAML" in result.stdout
    one = tmp_path / "one.yaml"
    two = tmp_path / "two.yaml"
    one.write_text("app:\n  environment: production\nbackend:\n  secret: s3cr3t-value\n")
    two.write_text("app:\n  environment: development\n")
    layered = CliRunner().invoke(main, ["config", "check", "--config", str(one), "--config", str(two)])
    assert layered.exit_code == 0, layered.stdout


def test_config_check_refuses_production_without_secret(tmp_path):
    path = tmp_path / "prod.yaml"
    path.write_text("app:\n  title: Prod\n")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 1 and "backend.secret is not set" in result.stdout


def test_hash_password_makes_a_checkable_hash():
    result = CliRunner().invoke(main, ["hash-password", "--password-stdin"], input="hunter2-hunter2\n")
    assert result.exit_code == 0
    digest = result.stdout.strip()
    assert check_password_hash(digest, "hunter2-hunter2")
    short = CliRunner().invoke(main, ["hash-password", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
