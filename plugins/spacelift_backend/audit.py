"""The audit trail: every run action and every admin change, who asked, and how it ended.

One row per request in `<plugin id>_audit`: the time, the principal, the action, the stack, the
run, the result (`ok`, `denied`, `conflict`, or the error code), the Spacelift run it produced
or acted on, and a short detail. Refusals are written too: a 403 or a 409 says as much about
who tried what as a success.

An action that reaches Spacelift is written down *before* the call, as `pending`, and updated
with its result after: if the database cannot take that first row, the action is not taken
(503 `audit_unavailable`), so nothing changes in Spacelift without a trace. A row left
`pending` means the process died, or the database failed, while the call was under way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from host import ApiError, Principal
from spacelift_backend.errors import SpaceliftFailure

ACTIONS = ("trigger", "confirm", "discard", "cancel", "retry",
           "settings.update", "settings.revert", "settings.test")  # fmt: skip
PENDING = "pending"
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50

_LIMITS = {"principal": 200, "action": 40, "stack": 200, "run": 40, "result": 60,
           "spacelift_run": 40, "detail": 1000}  # fmt: skip


def result_of(status: int, code: str) -> str:
    """The `result` column for a refusal or a failure."""
    if status == 403:
        return "denied"
    if status == 409:
        return "conflict"
    return code


def _cut(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    limit = _LIMITS[name]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite keeps no zone: we always write UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class AuditEntry:
    """One row in the making (see `AuditTrail.record`)."""

    trail: AuditTrail
    action: str
    principal: str
    stack: str | None = None
    run: str | None = None
    row_id: int | None = field(default=None, init=False)
    finished: bool = field(default=False, init=False)

    def start(self) -> None:
        """Write the row as `pending` before calling Spacelift; refuse the action if the
        database cannot take it."""
        try:
            self.row_id = self.trail.insert(self._values(PENDING, None, None))
        except SQLAlchemyError as exc:
            self.trail.logger.error("audit: cannot write the audit trail (%s)", type(exc).__name__)
            raise ApiError(
                503,
                "audit_unavailable",
                "the action was not taken: the audit trail cannot be written (database "
                "unavailable)",
            ) from None

    def finish(self, result: str, spacelift_run: str | None = None, detail: str | None = None) -> None:
        """The outcome. Never raises: a failed write is logged with the whole row."""
        if self.finished:
            return
        self.finished = True
        values = self._values(result, spacelift_run, detail)
        try:
            if self.row_id is None:
                self.row_id = self.trail.insert(values)
            else:
                self.trail.update(self.row_id, values)
        except SQLAlchemyError as exc:
            self.trail.logger.error(
                "audit: cannot write the audit row (%s): %s",
                type(exc).__name__,
                {k: v for k, v in values.items() if k != "time"},
            )

    def _values(self, result: str, spacelift_run: str | None, detail: str | None) -> dict[str, Any]:
        return {
            "time": datetime.now(UTC),
            "principal": _cut("principal", self.principal),
            "action": _cut("action", self.action),
            "stack": _cut("stack", self.stack),
            "run": _cut("run", self.run),
            "result": _cut("result", result),
            "spacelift_run": _cut("spacelift_run", spacelift_run),
            "detail": _cut("detail", detail),
        }


class AuditTrail:
    """Writes and searches `<plugin id>_audit`."""

    def __init__(self, db: Any, logger: logging.Logger):  # db: the plugin's ctx.db
        self.db = db
        self.logger = logger
        self.table = db.table(
            "audit",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
            sa.Column("principal", sa.String(_LIMITS["principal"]), nullable=False, index=True),
            sa.Column("action", sa.String(_LIMITS["action"]), nullable=False),
            sa.Column("stack", sa.String(_LIMITS["stack"]), index=True),
            sa.Column("run", sa.String(_LIMITS["run"])),
            sa.Column("result", sa.String(_LIMITS["result"]), nullable=False),
            sa.Column("spacelift_run", sa.String(_LIMITS["spacelift_run"])),
            sa.Column("detail", sa.String(_LIMITS["detail"])),
        )

    # -- writing -------------------------------------------------------------------------------

    def insert(self, values: dict[str, Any]) -> int:
        with self.db.begin() as conn:
            result = conn.execute(self.table.insert().values(**values))
            return int(result.inserted_primary_key[0])

    def update(self, row_id: int, values: dict[str, Any]) -> None:
        with self.db.begin() as conn:
            conn.execute(self.table.update().where(self.table.c.id == row_id).values(**values))

    @contextmanager
    def record(
        self, action: str, principal: Principal | None, stack: str | None = None,
        run: str | None = None,
    ) -> Iterator[AuditEntry]:  # fmt: skip
        """Write one row for the block: its result is `ok` unless the block calls
        `entry.finish()` itself, or raises (an ApiError, a SpaceliftFailure, an HTTP error)."""
        who = principal.id if principal is not None else "anonymous"
        entry = AuditEntry(self, action, who, stack, run)
        try:
            yield entry
        except ApiError as exc:
            entry.finish(result_of(exc.status, exc.code), detail=exc.message)
            raise
        except SpaceliftFailure as exc:
            entry.finish(result_of(exc.status, exc.code), detail=exc.message)
            raise
        except HTTPException as exc:
            entry.finish(result_of(exc.code or 500, "bad_request"), detail=exc.description)
            raise
        except Exception:
            entry.finish("internal_error")
            raise
        else:
            entry.finish("ok")

    # -- reading -------------------------------------------------------------------------------

    def search(
        self, *, user: str | None = None, action: str | None = None, stack: str | None = None,
        result: str | None = None, page: int = 1, per_page: int = DEFAULT_PER_PAGE,
    ) -> dict[str, Any]:  # fmt: skip
        """A page of rows, newest first, with the total. `user` is a principal id
        (`user:ann`) or a bare name (`ann`, a user or a service)."""
        t = self.table
        where = []
        if user:
            names = [user] if ":" in user else [f"user:{user}", f"service:{user}"]
            where.append(t.c.principal.in_(names))
        if action:
            where.append(t.c.action == action)
        if stack:
            where.append(t.c.stack == stack)
        if result:
            where.append(t.c.result == result)
        query = sa.select(t).where(*where).order_by(t.c.time.desc(), t.c.id.desc())
        with self.db.begin() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
            rows = conn.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
        return {
            "items": [
                {
                    "id": row.id,
                    "time": _iso(row.time),
                    "user": row.principal,
                    "action": row.action,
                    "stack": row.stack,
                    "run": row.run,
                    "result": row.result,
                    "spaceliftRun": row.spacelift_run,
                    "detail": row.detail,
                }
                for row in rows
            ],
            "total": int(total),
            "page": page,
            "perPage": per_page,
        }
