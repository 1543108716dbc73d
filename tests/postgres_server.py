"""Start a throwaway PostgreSQL (Debian's binaries) on a free loopback port, and stop it."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from redis_server import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or ([shutil.which(name)] if shutil.which(name) else [])
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: run scripts/test, or apt-get install -y postgresql"
        )
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    port: int
    datadir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://greenroom@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"]),
            capture_output=True, timeout=60, check=False,
        )


def start_postgres(workdir: Path) -> PostgresServer:
    datadir = workdir / "pgdata"
    datadir.mkdir(parents=True)
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        for path in (workdir, datadir):
            os.chown(path, pg.pw_uid, pg.pw_gid)
        os.chmod(workdir, 0o755)
    subprocess.run(
        _as_postgres([_bin("initdb"), "-D", str(datadir), "-A", "trust", "-U", "greenroom",
                      "--no-sync", "-E", "UTF8"]),
        capture_output=True, timeout=120, check=True,
    )
    port = free_port()
    options = f"-p {port} -h 127.0.0.1 -k {datadir} -c fsync=off"
    result = subprocess.run(
        _as_postgres([_bin("pg_ctl"), "-D", str(datadir), "-o", options, "-l",
                      str(datadir / "server.log"), "-w", "-t", "60", "start"]),
        capture_output=True, text=True, timeout=90, check=False,
    )
    if result.returncode != 0:
        log = (datadir / "server.log").read_text() if (datadir / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {result.stdout}{result.stderr}{log}")
    return PostgresServer(port, datadir)
