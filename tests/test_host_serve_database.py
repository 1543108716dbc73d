"""`greenroom run` forks workers from a preloaded app: no worker may inherit the master's database
connections (two processes on one PostgreSQL socket interleave their queries and hang)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from redis_server import free_port

TESTS = Path(__file__).resolve().parent
TOKEN = "a-static-token-for-the-fork-test-0123"


def pg_sockets(pid: int, pg_port: int) -> set[str]:
    """Socket inodes that `pid` holds open to the PostgreSQL port."""
    to_pg = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == pg_port:
                to_pg.add(fields[9])
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[8:-1])
    return held & to_pg


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_workers_never_share_the_masters_database_connections(tmp_path, postgres_server):
    port = free_port()
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from test_host_database import NotesPlugin
        from host.app import create_app
        from host.cli import serve_gunicorn

        config = {{
            "backend": {{
                "secret": "a-production-secret-for-the-fork-test",
                "database": {{"connection": {postgres_server.url!r}}},
                "auth": {{"externalAccess": [
                    {{"type": "static", "options": {{"token": {TOKEN!r}, "subject": "ci"}}}}]}},
            }},
            "auth": {{"providers": {{"password": {{"users": {{}}}}}}}},
        }}
        app = create_app(config, plugins=[NotesPlugin("forknotes")], load_entrypoints=False,
                         environment="production", instance_path={str(tmp_path)!r})
        serve_gunicorn(app, "127.0.0.1:{port}", 2)
    """))
    log = open(tmp_path / "serve.log", "w")  # closed in the finally block
    proc = subprocess.Popen([sys.executable, str(script)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    pg_port = int(postgres_server.url.rsplit(":", 1)[1].split("/", 1)[0])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).ok and len(children(proc.pid)) == 2:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text())
        # The tables were created at start-up, in the master; it keeps no connection open.
        assert pg_sockets(proc.pid, pg_port) == set()
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def use(i: int) -> int:
            if i % 2:
                return requests.post(f"{url}/api/forknotes/notes", json={"text": f"n{i}"},
                                     headers=auth, timeout=10).status_code  # fmt: skip
            return requests.get(f"{url}/api/forknotes/notes", headers=auth, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(use, range(60)))
        assert sorted(set(codes)) == [200, 201]
        workers = children(proc.pid)
        held = [pg_sockets(pid, pg_port) for pid in workers]
        assert all(held), held  # each worker has its own connection...
        assert not held[0] & held[1]  # ...and none is shared
        assert pg_sockets(proc.pid, pg_port) == set()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
