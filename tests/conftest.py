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
