"""The repository's example app-config.yaml is valid once its variables are set."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from host.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "app-config.yaml"


def test_example_config_checks_ok_with_its_variables(monkeypatch):
    monkeypatch.setenv("GREENROOM_SECRET", "a-long-random-secret-for-the-test")
    monkeypatch.setenv("GREENROOM_CI_TOKEN", "ci-token-0123456789abcdef")
    monkeypatch.setenv("GREENROOM_ADMIN_PASSWORD_HASH", "scrypt:32768:8:1$salt$abc")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip() == "ok"


def test_example_config_names_each_missing_variable(monkeypatch):
    for name in ("GREENROOM_SECRET", "GREENROOM_CI_TOKEN", "GREENROOM_ADMIN_PASSWORD_HASH"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["config", "check", "--config", str(EXAMPLE)])
    assert result.exit_code == 1
    for name in ("GREENROOM_SECRET", "GREENROOM_CI_TOKEN", "GREENROOM_ADMIN_PASSWORD_HASH"):
        assert name in result.stdout
