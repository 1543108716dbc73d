"""Run a Greenroom deployment on loopback: Redis, a Spacelift simulator and `greenroom run` instances.

Shared by the scale tests (tests/test_scale_*.py) and the benchmarks in bench/. Every process is
started in its own process group and stopped by that group, so nothing outlives the caller:

    with Cluster(workdir) as cluster:
        redis = cluster.redis()
        sim = cluster.sim(stacks=50)
        config = cluster.write_config(deploy_config(), env=cluster.env(sim, redis))
        a = cluster.portal(config, workers=2)
        b = cluster.portal(config, workers=2)
        ...

The portal config is the one docs/deploy.md shows (`deploy_config()` reads it from there), with
its ${VARIABLES} filled from the environment given to each instance.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))
from redis_server import RedisServer, free_port, start_redis  # noqa: E402

DEPLOY_DOC = ROOT / "docs" / "deploy.md"
# The config block of docs/deploy.md follows this line.
CONFIG_MARKER = "<!-- the deployment config: tests/test_scale_deploy_docs.py runs this file -->"

API_TOKEN = "ci-token-for-the-scale-tests-0123456789"
SECRET = "the-same-long-random-secret-on-every-instance-0123456789"
USER = "alice"
PASSWORD = "correct horse battery staple"
SIM_KEY_ID = "01SIMKEY0000000000000000AA"
SIM_KEY_SECRET = "sim-secret"


def deploy_config() -> str:
    """The YAML block that follows CONFIG_MARKER in docs/deploy.md."""
    text = DEPLOY_DOC.read_text()
    start = text.index(CONFIG_MARKER) + len(CONFIG_MARKER)
    match = re.compile(r"\s*```yaml\n(.*?)```", re.S).match(text, start)
    if match is None:
        raise AssertionError(f"no ```yaml block after the marker in {DEPLOY_DOC}")
    return match.group(1)


def password_hash(password: str = PASSWORD) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process group of `proc` (it leads one), then SIGKILL what is left."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _wait_for(predicate, what: str, proc: subprocess.Popen, log: Path, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout} s:\n{log.read_text()[-3000:]}")


@dataclass
class SimProcess:
    """A `spacelift-sim` subprocess."""

    proc: subprocess.Popen
    url: str  # http://127.0.0.1:PORT

    @property
    def host_url(self) -> str:
        """What goes in spacelift.hostUrl: the bare host:port."""
        return self.url.removeprefix("http://")

    def stats(self) -> dict[str, Any]:
        return requests.get(self.url + "/_sim/stats", timeout=10).json()

    def reset_stats(self) -> None:
        requests.post(self.url + "/_sim/stats/reset", timeout=10).raise_for_status()

    def fault(self, mode: str, latency_ms: int = 0) -> None:
        body = {"mode": mode, "latency_ms": latency_ms}
        requests.post(self.url + "/_sim/faults", json=body, timeout=10).raise_for_status()

    def stack_queries(self) -> int:
        """Upstream stack-list queries so far (the backend pages through searchStacks)."""
        return int(self.stats()["operations"].get("searchStacks", 0))


@dataclass
class Portal:
    """A `greenroom run` master and its workers."""

    proc: subprocess.Popen
    port: int
    workers: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        stop_group(self.proc)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def sign_in(base_url: str, username: str = USER, password: str = PASSWORD) -> requests.Session:
    """A session signed in through /login with the password provider."""
    session = requests.Session()
    page = session.get(f"{base_url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(
        f"{base_url}/login",
        data={"csrf_token": token, "provider": "password", "username": username,
              "password": password, "next": "/"},
        timeout=30, allow_redirects=False,
    )  # fmt: skip
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed with {answer.status_code}")
    return session


def _exit_on_sigterm(_signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up short
    raise SystemExit(143)


@dataclass
class Cluster:
    """Starts processes under `workdir`; leaving the block (or stop()) stops every one."""

    workdir: Path
    _stops: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Cluster:
        # SIGTERM (a timeout, a kill) unwinds the `with` block like Ctrl-C, so every process
        # started here is stopped (they run in their own process groups).
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            with suppress(Exception):
                stop()

    # -- services ------------------------------------------------------------------------------

    def redis(self) -> RedisServer:
        folder = self.workdir / f"redis-{len(self._stops)}"
        folder.mkdir(exist_ok=True)
        server = start_redis(folder)
        self._stops.append(server.stop)
        return server

    def sim(self, stacks: int = 50, seed: int = 42, timeout: float = 60) -> SimProcess:
        log = self.workdir / f"sim-{len(self._stops)}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(BIN / "spacelift-sim"), "--port", "0", "--stacks", str(stacks), "--seed",
                 str(seed), "--tick", "0", "--key-id", SIM_KEY_ID, "--key-secret", SIM_KEY_SECRET],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        self._stops.append(lambda: stop_group(proc))

        def url() -> str | None:
            found = re.search(r"GraphQL URL: (http://127\.0\.0\.1:\d+)/graphql", log.read_text())
            return found.group(1) if found else None

        return SimProcess(proc, _wait_for(url, "spacelift-sim", proc, log, timeout))

    def env(self, sim: SimProcess, redis_url: str, database_url: str | None = None,
            **extra: str) -> dict[str, str]:  # fmt: skip
        """The variables docs/deploy.md's config reads."""
        values = {
            "GREENROOM_SECRET": SECRET,
            "PORTAL_URL": "http://127.0.0.1:7007",
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url or f"sqlite:///{self.workdir}/greenroom.sqlite3",
            "CI_TOKEN": API_TOKEN,
            "ALICE_PASSWORD_HASH": password_hash(),
            "SPACELIFT_HOST": sim.host_url,
            "SPACELIFT_API_KEY": SIM_KEY_ID,
            "SPACELIFT_API_SECRET": SIM_KEY_SECRET,
        }
        values.update(extra)
        return values

    def write_config(self, text: str, name: str = "app-config.yaml") -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def portal(self, config: Path | list[Path], env: dict[str, str], workers: int = 2,
               timeout: float = 60) -> Portal:  # fmt: skip
        """`greenroom run --config ... --host 127.0.0.1 --port <free> --workers N`, ready."""
        args = ["run"]
        for path in config if isinstance(config, list) else [config]:
            args += ["--config", str(path)]
        args += ["--workers", str(workers)]
        return self.greenroom_run(args, env, timeout)

    def greenroom_run(self, argv: list[str], env: dict[str, str], timeout: float = 60) -> Portal:
        """`greenroom <argv>` (a `run` command line) with --host 127.0.0.1 and a free --port put
        in place of any given; waits until /healthz answers and every worker is up."""
        port = free_port()
        args, skip, workers = [str(BIN / "greenroom")], False, 1
        for i, arg in enumerate(argv):
            if skip:
                skip = False
            elif arg in ("--host", "--port"):
                skip = True
            elif not arg.startswith(("--host=", "--port=")):
                args.append(arg)
            if arg == "--workers" and i + 1 < len(argv):
                workers = int(argv[i + 1])
        args += ["--host", "127.0.0.1", "--port", str(port)]
        log = self.workdir / f"portal-{port}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=self.workdir, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        portal = Portal(proc, port, workers, log)
        self._stops.append(portal.stop)

        def ready() -> bool:
            try:
                requests.get(f"{portal.url}/healthz", timeout=2).raise_for_status()
            except requests.RequestException:
                return False
            return len(portal.worker_pids()) >= workers

        _wait_for(ready, "greenroom run", proc, log, timeout)
        return portal


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
