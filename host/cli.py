"""`greenroom`: run the portal, run a demo, check the config, list plugins, hash a password."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

from host.app import StartupError, build_host, check_startup, create_app
from host.config import ConfigError
from host.plugins import PluginError

CONFIG_OPTION = click.option(
    "--config",
    "config_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A config file; repeat to layer several (later files win). "
    "Default: app-config.yaml, then app-config.local.yaml if present.",
)


def _files(config_files: Sequence[str]) -> list[str] | None:
    return list(config_files) or None


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group()
@click.version_option(package_name="greenroom")
def main() -> None:
    """Greenroom: a developer portal host with plugins."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@CONFIG_OPTION
@click.option("--host", "bind_host", default=None, help="Address to bind (default: backend.listen.host).")
@click.option("--port", type=int, default=None, help="Port (default: backend.listen.port).")
@click.option("--workers", type=int, default=1, show_default=True, help="gunicorn worker processes.")
def run(config_files: Sequence[str], bind_host: str | None, port: int | None, workers: int) -> None:
    """Serve the portal with gunicorn (a production WSGI server)."""
    try:
        app = create_app(config_files=_files(config_files))
    except (ConfigError, StartupError, PluginError) as exc:
        _fail(f"greenroom cannot start:\n{exc}")
        return
    cfg = app.extensions["greenroom"].config
    bind = f"{bind_host or cfg.get('backend.listen.host')}:{port if port is not None else cfg.get('backend.listen.port')}"
    serve_gunicorn(app, bind, workers)


def serve_gunicorn(app: Any, bind: str, workers: int) -> None:
    """Run `app` under gunicorn, preloaded in the master and forked into `workers`."""
    from gunicorn.app.base import BaseApplication

    database = app.extensions.get("greenroom.database")

    def post_fork(_server: Any, _worker: Any) -> None:
        if database is not None:
            database.dispose(close=False)  # never use a connection of the master's

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", max(1, workers))
            self.cfg.set("preload_app", True)
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 60)
            self.cfg.set("post_fork", post_fork)

        def load(self) -> Any:
            return app

    # The app was built in this process, the future master, and its start-up (creating plugin
    # tables) may have left pooled database connections. Forked workers would share their
    # sockets, interleave their queries and hang; close them before forking.
    if database is not None:
        database.dispose()
    click.echo(f"Greenroom serving on http://{bind} with {workers} worker(s)")
    _Server().run()


@main.command()
@click.option("--port", type=int, default=7007, show_default=True, help="Port of the portal.")
@click.option("--sim-port", type=int, default=0, help="Port of the Spacelift simulator (0: a free one).")
@click.option("--stacks", type=int, default=40, show_default=True, help="Stacks in the simulated world.")
def demo(port: int, sim_port: int, stacks: int) -> None:
    """Start a development portal with guest sign-in and a living Spacelift simulator."""
    from host.demo import run_demo

    run_demo(port=port, sim_port=sim_port, stacks=stacks)


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@CONFIG_OPTION
def config_check(config_files: Sequence[str]) -> None:
    """Validate the config with every installed plugin's schema: `ok`, or every problem."""
    try:
        host = build_host(config_files=_files(config_files))
    except ConfigError as exc:
        click.echo(f"{len(exc.problems)} problem(s):")
        for problem in exc.problems:
            click.echo(f"  - {problem}")
        sys.exit(1)
    except PluginError as exc:
        _fail(f"plugin problem: {exc}")
        return
    refusals = check_startup(host)
    if refusals:
        click.echo(f"{len(refusals)} problem(s):")
        for refusal in refusals:
            click.echo(f"  - {refusal}")
        sys.exit(1)
    click.echo("ok")


@main.command()
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(config_files: Sequence[str], as_json: bool) -> None:
    """List every plugin: entry point, kind, id, version, mount path and status."""
    try:
        app = create_app(config_files=_files(config_files), environment="development")
        records = app.extensions["greenroom"].records
    except (ConfigError, StartupError) as exc:
        click.echo(f"warning: the configuration has problems; listing plugins anyway:\n{exc}", err=True)
        records = build_host({}, environment="development").records
    rows = [r.as_dict() for r in records]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed")
        return
    header = ("ENTRY POINT", "KIND", "ID", "VERSION", "MOUNT", "STATUS")
    table = [header] + [
        (
            r["name"], r["kind"] or "-", r["id"] or "-", r["version"] or "-", r["mount"] or "-",
            r["status"] + (f": {r['error']}" if r["error"] else ""),
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(5)]
    for row in table:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row[:5], widths, strict=True)) + "  " + row[5])


@main.command("hash-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def hash_password(password_stdin: bool) -> None:
    """Print a password hash for auth.providers.password.users.<name>.passwordHash."""
    from werkzeug.security import generate_password_hash

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            _fail("the two passwords differ")
    if len(password) < 8:
        _fail("a password needs at least 8 characters")
    click.echo(generate_password_hash(password))


if __name__ == "__main__":
    main()
