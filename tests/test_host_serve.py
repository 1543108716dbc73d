"""`greenroom run` serves with gunicorn; `greenroom demo` prints its URL and lets the guest in."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_run_serves_with_gunicorn(tmp_path, processes):
    config = tmp_path / "app-config.yaml"
    config.write_text(
        "backend:\n  secret: a-production-secret-for-this-test\n"
        "auth:\n  providers:\n    password:\n      users: {}\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "greenroom"), "run", "--config", str(config), "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    processes.append(proc)
    health = wait_for(f"http://127.0.0.1:{port}/healthz", proc)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert "gunicorn" in health.headers.get("Server", "")
    assert requests.get(f"http://127.0.0.1:{port}/api/hello/greet", timeout=5).status_code == 401
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert "Booting worker" in out or "Greenroom serving" in out


def test_demo_prints_its_url_and_lets_the_guest_in(tmp_path, processes):
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "greenroom"), "demo", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    processes.append(proc)
    url = None
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline and url is None:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError("demo exited: " + "".join(lines))
            continue
        lines.append(line)
        match = re.search(r"Open (http://127\.0\.0\.1:\d+/)", line)
        url = match.group(1) if match else None
    assert url == f"http://127.0.0.1:{port}/", lines
    session = requests.Session()
    login = session.get(url + "login", timeout=5)
    assert "Enter as guest" in login.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    home = session.post(url + "login", data={"csrf_token": token, "provider": "guest", "next": "/"}, timeout=5)
    assert home.status_code == 200 and "Sign out" in home.text
    assert any("Spacelift simulator: http://127.0.0.1:" in line for line in lines)
    # The demo shows Spacelift, with the simulator's living world: runs move while you watch.
    overview = session.get(url + "spacelift/", timeout=30)
    assert overview.status_code == 200, overview.text
    assert "Spacelift Stacks <span class=\"total\">(40)</span>" in overview.text, overview.text[-3000:]
    api = url + "api/spacelift/stacks?perPage=100"
    first = {s["id"]: s["state"] for s in session.get(api, timeout=30).json()["items"]}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(2)
        now = {s["id"]: s["state"] for s in session.get(api, timeout=30).json()["items"]}
        if now != first:
            break
    assert now != first, "no stack changed state in 20 s"
