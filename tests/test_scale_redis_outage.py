"""Redis stops under two running `greenroom run` instances: requests still succeed, the
processes stay up, /readyz says Redis is unreachable; when Redis is back, /readyz is green again."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from cluster import API_TOKEN, Cluster, deploy_config, sign_in, stop_group

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def restart_redis(port: int, workdir: Path) -> subprocess.Popen:
    """redis-server again on the same port (the instances keep their configured URL)."""
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    return proc


def test_requests_still_succeed_when_redis_stops_and_readiness_recovers(tmp_path):
    with Cluster(tmp_path) as cluster:
        store = cluster.redis()
        sim = cluster.sim(stacks=50)
        config = cluster.write_config(deploy_config())
        portals = [cluster.portal(config, cluster.env(sim, store.url), workers=2) for _ in range(2)]
        viewer = sign_in(portals[0].url)
        for portal in portals:
            assert requests.get(f"{portal.url}/api/spacelift/stacks", headers=AUTH, timeout=30).ok
            assert requests.get(f"{portal.url}/readyz", timeout=10).status_code == 200

        workers = [p.worker_pids() for p in portals]
        store.stop()  # mid-test: the instances are serving and keep their Redis URL

        def api(i: int) -> requests.Response:
            return requests.get(f"{portals[i % 2].url}/api/spacelift/stacks", headers=AUTH, timeout=30)

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(api, range(40)))
        assert [a.status_code for a in answers] == [200] * 40
        # No request waits long for the missing Redis (0.5 s timeouts, no retries).
        assert max(a.elapsed.total_seconds() for a in answers) < 2.0
        assert {a.json()["total"] for a in answers} == {50}
        for portal in portals:  # pages and fragments too, for a signed-in user
            assert viewer.get(f"{portal.url}/spacelift/", timeout=30).status_code == 200
            fragment = viewer.get(f"{portal.url}/spacelift/fragments/overview", timeout=30)
            assert fragment.status_code == 200 and "Spacelift Stacks" in fragment.text
            ready = requests.get(f"{portal.url}/readyz", timeout=10)
            assert ready.status_code == 503
            assert "Redis is unreachable" in ready.json()["checks"]["cache"]
            assert requests.get(f"{portal.url}/healthz", timeout=10).status_code == 200
        assert all(p.alive for p in portals)
        assert [p.worker_pids() for p in portals] == workers  # no worker crashed or restarted
        assert "the shared cache (Redis) is unreachable" in portals[0].log.read_text()

        back = restart_redis(store.port, tmp_path)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                codes = [requests.get(f"{p.url}/readyz", timeout=10).status_code for p in portals]
                if codes == [200, 200]:
                    break
                time.sleep(0.2)
            assert codes == [200, 200]
            assert requests.get(f"{portals[1].url}/api/spacelift/stacks", headers=AUTH, timeout=30).ok
        finally:
            stop_group(back)
