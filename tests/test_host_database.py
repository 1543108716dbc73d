"""ctx.db: SQLAlchemy with per-plugin table prefixes, tables created at startup."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, request

from host import BackendPlugin, hookimpl
from host.testing import make_app, sign_in


class NotesPlugin:
    """A plugin that keeps notes in its own table."""

    __name__ = "notes"

    def __init__(self, plugin_id: str):
        self.plugin_id = plugin_id

    @hookimpl
    def register_backend_plugins(self, host: Any) -> list[BackendPlugin]:
        return [BackendPlugin(id=self.plugin_id, setup=self.setup)]

    def setup(self, ctx: Any) -> Blueprint:
        notes = ctx.db.table(
            "notes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("text", sa.String(200), nullable=False),
        )
        bp = Blueprint("notes", __name__)

        @bp.post("/notes")
        def add() -> Any:
            with ctx.db.begin() as conn:
                conn.execute(notes.insert().values(text=request.get_json()["text"]))
            return {"ok": True}, 201

        @bp.get("/notes")
        def list_notes() -> Any:
            with ctx.db.begin() as conn:
                rows = conn.execute(sa.select(notes.c.text).order_by(notes.c.id)).scalars().all()
            return {"notes": rows, "table": notes.name}

        return bp


def test_tables_are_prefixed_created_at_startup_and_persist(database_url):
    plugin_id = "notes-" + uuid.uuid4().hex[:6]  # a fresh table on a shared server
    config = {"backend": {"database": {"connection": database_url}}}
    app = make_app(config, plugins=[NotesPlugin(plugin_id)])
    table = plugin_id.replace("-", "_") + "_notes"
    engine = sa.create_engine(database_url)
    try:
        assert table in sa.inspect(engine).get_table_names()  # before any request
        client = app.test_client()
        csrf = sign_in(client)
        for text in ("first", "second"):
            response = client.post(f"/api/{plugin_id}/notes", json={"text": text},
                                   headers={"X-CSRF-Token": csrf})
            assert response.status_code == 201
        # A second app (another worker, or a restart) sees the same rows.
        again = make_app(config, plugins=[NotesPlugin(plugin_id)]).test_client()
        sign_in(again)
        assert again.get(f"/api/{plugin_id}/notes").json == {"notes": ["first", "second"], "table": table}
    finally:
        engine.dispose()


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    app = make_app(plugins=[NotesPlugin("notes")], instance_path=str(tmp_path / "inst"))
    assert (tmp_path / "inst" / "greenroom.sqlite3").exists()
    assert app.extensions["greenroom.database"].url.startswith("sqlite:///")


def test_an_unreachable_database_fails_only_the_plugins_that_use_it():
    import kitchen_plugin

    app = make_app(
        {"backend": {"database": {"connection": "postgresql+psycopg://nobody@127.0.0.1:1/none"}}},
        plugins=[NotesPlugin("notes"), kitchen_plugin],
    )
    records = {r.id: r for r in app.extensions["greenroom"].records if r.kind == "backend"}
    assert records["notes"].status == "failed" and "OperationalError" in records["notes"].error
    assert records["kitchen"].status == "ok"
