"""Fixtures for the host and plugin tests (the network guard is in the root conftest.py)."""

from __future__ import annotations

import pytest

from host.testing import make_app, sign_in


@pytest.fixture
def app():
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def user_client(app):
    """A client signed in as the guest user; `.csrf` holds its CSRF token."""
    c = app.test_client()
    c.csrf = sign_in(c)
    return c


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server for the session, on a free loopback port."""
    from redis_server import start_redis

    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """One PostgreSQL for the session, on a free loopback port."""
    import shutil
    import tempfile
    from pathlib import Path

    from postgres_server import start_postgres

    # Not under pytest's tmp folders: those are root-only, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="greenroom-pg-"))
    server = start_postgres(base)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Every database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/test.sqlite3"
    return request.getfixturevalue("postgres_server").url


@pytest.fixture(scope="module")
def sim():
    """A still simulated Spacelift of 20 stacks on loopback, one per test module.

    A module that needs another world defines its own `sim` fixture.
    """
    from spacelift_backend_support import running_sim

    with running_sim() as running:
        yield running


@pytest.fixture
def fresh_sim(sim):
    """The simulator back to its seeded world with clean counters before a test, and no fault
    or changed key after it. Modules use it with `pytestmark = pytest.mark.usefixtures(...)`."""
    sim.reset()
    yield sim
    sim.restore()
