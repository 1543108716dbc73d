"""`spacelift-sim` starts, prints where it serves, and answers; 10,000 stacks start quickly."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from spacelift_sim import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET
from spacelift_sim.cli import parse_args
from spacelift_sim.testing import execute, fetch_token, gql_client, self_signed_certificate

SCRIPT = shutil.which("spacelift-sim", path=str(Path(sys.executable).parent)) or "spacelift-sim"


def start(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start the CLI and read its banner up to the key secret line."""
    process = subprocess.Popen(
        [SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "0"},
    )
    banner: dict[str, str] = {}
    deadline = time.monotonic() + 45
    assert process.stdout is not None
    while "secret" not in banner and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if match := re.match(r"GraphQL URL: (\S+)", line):
            banner["url"] = match.group(1)
        elif match := re.match(r"API key id:\s+(\S+)", line):
            banner["id"] = match.group(1)
        elif match := re.match(r"API key secret:\s+(\S+)", line):
            banner["secret"] = match.group(1)
    return process, banner


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=15)


def test_cli_with_10000_stacks_on_a_free_port():
    process, banner = start("--port", "0", "--stacks", "10000", "--tick", "0")
    try:
        assert banner["id"] == DEFAULT_KEY_ID and banner["secret"] == DEFAULT_KEY_SECRET
        url = banner["url"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/graphql", url) and not url.endswith(
            ":0/graphql"
        )
        client = gql_client(url, fetch_token(url, banner["id"], banner["secret"]))
        page = execute(
            client,
            "{ searchStacks(input: {first: 50}) { edges { node { id } } pageInfo { hasNextPage } } }",
        )
        assert (
            len(page["searchStacks"]["edges"]) == 50
            and page["searchStacks"]["pageInfo"]["hasNextPage"]
        )
        assert len(execute(client, "{ stacks { id } }")["stacks"]) == 10_000
        stats = requests.get(url.replace("/graphql", "/_sim/stats"), timeout=30).json()
        assert stats["operations"]["stacks"] == 1 and stats["tokens_issued"] == 1
    finally:
        assert stop(process) == 0


def test_cli_options_tls_key_and_strict_401(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    process, banner = start(
        "--port", "0", "--stacks", "3", "--seed", "9", "--key-id", "01CUSTOMKEY000000000000000",
        "--key-secret", "s3cret", "--token-ttl", "120", "--tick", "0.2", "--tls-cert", cert,
        "--tls-key", key, "--strict-401",
    )  # fmt: skip
    try:
        assert banner["url"].startswith("https://127.0.0.1:")
        assert banner["id"] == "01CUSTOMKEY000000000000000" and banner["secret"] == "s3cret"
        client = gql_client(
            banner["url"],
            fetch_token(banner["url"], banner["id"], "s3cret", verify=cert),
            verify=cert,
        )
        viewer = execute(client, "{ viewer { validUntil } stacks { id } }")
        assert len(viewer["stacks"]) == 3 and viewer["viewer"]["validUntil"] - time.time() <= 121
        bad = requests.post(
            banner["url"], json={"query": "{ stacks { id } }"}, headers={"Authorization": "Bearer nope"},
            verify=cert, timeout=30,
        )  # fmt: skip
        assert bad.status_code == 401
    finally:
        assert stop(process) == 0


def test_cli_defaults_and_bad_arguments(capsys):
    args = parse_args([])
    assert (args.host, args.port, args.stacks, args.seed) == ("127.0.0.1", 7070, 50, 42)
    assert (args.key_id, args.key_secret, args.token_ttl, args.tick) == (
        DEFAULT_KEY_ID,
        "sim-secret",
        36000,
        2.0,
    )
    assert not args.strict_401 and args.tls_cert is None
    with pytest.raises(SystemExit):
        parse_args(["--tls-cert", "only-a-cert.pem"])
    with pytest.raises(SystemExit):
        parse_args(["--stacks", "-1"])
    assert "--tls-key go together" in capsys.readouterr().err
