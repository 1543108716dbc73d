"""`ctx.db`: SQLAlchemy for plugins. Each plugin's tables are prefixed with its id.

`backend.database.connection` is an SQLAlchemy URL; the default is an SQLite file in the
instance folder. Use PostgreSQL when several instances share one database.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine


class Database:
    """The app's engine, created on first use."""

    def __init__(self, url: str):
        self.url = url
        self._engine: Engine | None = None
        self._guard = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._guard:
            if self._engine is None:
                if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
                    os.makedirs(os.path.dirname(os.path.abspath(self.url[len("sqlite:///") :])), exist_ok=True)
                self._engine = create_engine(self.url, pool_pre_ping=True)
            return self._engine

    def dispose(self, close: bool = True) -> None:
        """Drop the pooled connections. `close=False` (in a forked child) forgets the ones
        inherited from the parent without touching them: their sockets are the parent's."""
        if self._engine is not None:
            self._engine.dispose(close=close)


class PluginDatabase:
    """One plugin's view of the database: `table()` names every table `<plugin>_<name>`."""

    def __init__(self, database: Database, plugin_id: str):
        self._database = database
        self.prefix = plugin_id.replace("-", "_") + "_"
        self.metadata = MetaData()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (shared by every plugin of the app)."""
        return self._database.engine

    def table(self, name: str, *columns: Any, **kwargs: Any) -> Table:
        """Declare the table `<plugin>_<name>`; the host creates it at startup."""
        return Table(self.prefix + name, self.metadata, *columns, **kwargs)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends without an error."""
        with self.engine.begin() as connection:
            yield connection

    def create_all(self) -> None:
        """Create this plugin's declared tables that do not exist yet."""
        if self.metadata.tables:
            self.metadata.create_all(self.engine)


def default_url(instance_path: str) -> str:
    return "sqlite:///" + os.path.join(os.path.abspath(instance_path), "greenroom.sqlite3")
