"""docs/deploy.md is run, not just read: its config passes `greenroom config check`, and its
`greenroom run` command (2 workers) serves with Redis and PostgreSQL from the same settings."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from cluster import API_TOKEN, BIN, DEPLOY_DOC, ROOT, Cluster, deploy_config, sign_in

DOC = DEPLOY_DOC.read_text()
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
GUNICORN_TIMEOUT = 60  # host/cli.py serve_gunicorn


def documented(command: str) -> list[str]:
    """The doc's `greenroom <command> ...` line, split like a shell would."""
    found = re.findall(rf"^greenroom {command} .*$", DOC, re.M)
    assert len(found) == 1, f"docs/deploy.md should show one `greenroom {command}` line: {found}"
    return shlex.split(found[0])[1:]


def test_the_documented_settings_keep_their_own_rules():
    spacelift = yaml.safe_load(deploy_config())["spacelift"]
    assert spacelift["cacheTtlSeconds"] < spacelift["pollIntervalSeconds"]
    # A cache miss may wait 4 x requestTimeoutSeconds + 5 s (the backend's lock wait): it must
    # end before gunicorn kills the worker.
    assert 4 * spacelift["requestTimeoutSeconds"] + 5 < GUNICORN_TIMEOUT
    assert f'self.cfg.set("timeout", {GUNICORN_TIMEOUT})' in (ROOT / "host" / "cli.py").read_text()


def test_the_documented_commands_run_two_workers_with_redis_and_postgresql(tmp_path, postgres_server):
    check = documented("config check")
    run = documented("run")
    assert run[run.index("--workers") + 1] == "2"
    with Cluster(tmp_path) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=50)
        config = cluster.write_config(deploy_config(), "app-config.production.yaml")
        env = cluster.env(sim, store.url, database_url=postgres_server.url)
        # Only the documented variables: the check must not lean on anything else.
        checked = subprocess.run([str(BIN / "greenroom"), *check], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
        assert checked.returncode == 0 and checked.stdout.strip() == "ok", checked.stdout + checked.stderr
        assert config.name in run
        portal = cluster.greenroom_run(run, env)
        assert len(portal.worker_pids()) == 2
        ready = requests.get(f"{portal.url}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"

        # Both workers busy at once on a slow Spacelift: one exchange, one query, all 200.
        sim.reset_stats()
        sim.fault("slow", latency_ms=200)
        gate = threading.Barrier(10)

        def one(_i: int) -> int:
            gate.wait(timeout=10)
            return requests.get(f"{portal.url}/api/spacelift/stacks", headers=AUTH, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            assert list(pool.map(one, range(10))) == [200] * 10
        sim.fault("none")
        stats = sim.stats()
        assert stats["tokens_issued"] == 1 and stats["operations"]["searchStacks"] == 1, stats
        # The documented user signs in, and the live overview answers.
        viewer = sign_in(portal.url)
        assert viewer.get(f"{portal.url}/spacelift/fragments/overview", timeout=30).status_code == 200
