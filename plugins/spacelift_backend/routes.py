"""The JSON API under /api/spacelift: input checked at the edge, failures mapped in one place.

Every route needs credentials (the host's barrier) except /health. Read routes need the
`spacelift.stack.read` permission; the trigger and the run actions need
`spacelift.run.<action>` (and not `readOnly`), are checked against the run's current state,
and are written to the audit trail. The admin routes are in admin.py.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import Blueprint, Response, current_app, request

from host import (
    ApiError,
    PluginContext,
    Principal,
    authorize,
    current_principal,
    public_route,
)
from spacelift_backend import admin, listing, model, openapi
from spacelift_backend.audit import AuditTrail
from spacelift_backend.cache import Cached
from spacelift_backend.config import Settings
from spacelift_backend.connection import Connection, Connections
from spacelift_backend.errors import SpaceliftFailure, invalid_parameter
from spacelift_backend.model import CATEGORIES, RUN_ACTIONS, iso
from spacelift_backend.params import (
    MAX_TEXT,
    arg,
    check_run_id,
    check_stack_id,
    choice_arg,
    int_arg,
    text_arg,
)
from spacelift_backend.service import SpaceliftService
from spacelift_backend.settings_store import SettingsStore

READ = "spacelift.stack.read"
TRIGGER = "spacelift.run.trigger"

# One token of `state`: a state name (any case) or a category name.
STATE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
RUN_TYPES = ("TRACKED", "PROPOSED", "TASK")


def freshness(*answers: Cached) -> dict[str, Any]:
    """fetchedAt (the oldest of the answers), stale, and the error when stale."""
    out: dict[str, Any] = {
        "fetchedAt": iso(min(a.fetched_at for a in answers)),
        "stale": any(a.stale for a in answers),
    }
    error = next((a.error for a in answers if a.error is not None), None)
    if error is not None:
        out["error"] = error.as_dict()
    return out


def stack_filter() -> listing.StackFilter:
    """The /stacks query string, checked: every problem names its parameter."""
    states: set[str] = set()
    for raw in (text_arg("state") or "").split(","):
        token = raw.strip(" ")
        if not token:
            continue
        if not STATE_TOKEN.fullmatch(token):
            raise invalid_parameter(
                "state",
                f"{token!r} is neither a state name (such as FAILED) nor a category "
                f"({', '.join(CATEGORIES)})",
            )
        category = next((c for c in CATEGORIES if c.lower() == token.lower()), None)
        states.add(category or token.upper())
    labels = [v for v in request.args.getlist("label") if v]
    if any(len(v) > MAX_TEXT for v in labels):
        raise invalid_parameter("label", f"must be at most {MAX_TEXT} characters long")
    locked = choice_arg("locked", ("true", "false"), "")
    return listing.StackFilter(
        states=frozenset(states),
        labels=tuple(labels),
        space=text_arg("space"),
        q=text_arg("q"),
        locked={"true": True, "false": False}.get(locked),
        sort=choice_arg("sort", listing.SORTS, "name"),
        page=int_arg("page", 1, 1, 100_000),
        per_page=int_arg("perPage", listing.DEFAULT_PER_PAGE, 1, listing.MAX_PER_PAGE),
    )


# -- the blueprint ---------------------------------------------------------------------------


def note_for(principal: Principal) -> str:
    """The note Spacelift shows on the run's history, naming the portal user."""
    if principal.kind == "service":
        return f"via Greenroom by service {principal.name}"
    if principal.label != principal.name:
        return f"via Greenroom by {principal.label} ({principal.name})"
    return f"via Greenroom by {principal.name}"


def create_blueprint(ctx: PluginContext) -> Blueprint:
    """The backend's routes over the connection in effect (saved settings over app-config)."""
    assert ctx.db is not None
    connections = Connections(ctx, Settings.from_config(ctx.config), SettingsStore(ctx.db))
    connections.warm()
    audit = AuditTrail(ctx.db, ctx.logger)
    selections = listing.Selections()  # /stacks pages, worked out once per list and filter
    prefix = f"/api/{ctx.id}"
    bp = Blueprint("spacelift_api", __name__)

    @bp.errorhandler(SpaceliftFailure)
    def _failure(exc: SpaceliftFailure) -> Response:
        return exc.response()

    def require(action: str, resource: Any = None) -> None:
        if not authorize(current_principal(), action, resource):
            raise ApiError(403, "forbidden", f"you are not allowed to take the action {action}")

    def current() -> tuple[Connection, SpaceliftService]:
        connection = connections.current()
        return connection, connections.service(connection)

    def may_trigger(connection: Connection, stack_id: str | None = None) -> bool:
        resource = {"stackId": stack_id} if stack_id else None
        return not connection.settings.read_only and authorize(current_principal(), TRIGGER, resource)

    def refuse_if_read_only(connection: Connection, what: str) -> None:
        if connection.settings.read_only:
            raise ApiError(
                403,
                "spacelift_read_only",
                f"{what} is disabled: the Spacelift plugin is in read-only mode "
                "(spacelift.readOnly, or Read-only on the administration page)",
            )

    def with_actions(connection: Connection, stack_id: str, run: dict[str, Any]) -> dict[str, Any]:
        """The run, copied, with the actions this caller may take on it now: allowed by its
        state, by the permission policy, and not in read-only mode. Computed per request,
        after the shared cache, which holds only what every viewer sees."""
        actions: list[str] = []
        if not connection.settings.read_only:
            principal = current_principal()
            resource = {"stackId": stack_id, "runId": run.get("id")}
            can_retry = run.get("canRetry") if "canRetry" in run else None  # detail only
            for action in RUN_ACTIONS:
                allowed = model.action_allowed(action, run.get("state"), run.get("type"), can_retry)
                if allowed and authorize(principal, f"spacelift.run.{action}", resource):
                    actions.append(action)
        return {**run, "actions": actions}

    @bp.get("/health")
    @public_route
    def health() -> Any:
        return {"status": "ok"}

    @bp.get("/status")
    def status() -> Any:
        require(READ)
        connection, service = current()
        out = service.status()
        out["source"] = connection.source
        out["lastSuccessAt"] = iso(out["lastSuccessAt"])
        out["tokenExpiresAt"] = iso(out["tokenExpiresAt"])
        if out["lastError"] is not None:
            out["lastError"] = {**out["lastError"], "at": iso(out["lastError"].get("at"))}
        return out

    @bp.get("/stacks")
    def stacks() -> Any:
        require(READ)
        connection, service = current()
        service.ensure_configured()
        wanted = stack_filter()
        answer = service.stacks()
        return {
            **selections.select(answer.data, wanted),
            **freshness(answer),
            "canTrigger": may_trigger(connection),
        }

    @bp.get("/summary")
    def summary() -> Any:
        require(READ)
        _connection, service = current()
        stacks = service.stacks()
        runs = service.recent_runs()
        return {
            "total": len(stacks.data),
            "counts": listing.counts_of(stacks.data),
            "needsAttention": listing.needs_attention(stacks.data),
            "runs": listing.run_statistics(runs.data),
            **freshness(stacks, runs),
        }

    @bp.get("/stacks/<stack_id>")
    def stack(stack_id: str) -> Any:
        require(READ, {"stackId": stack_id})
        connection, service = current()
        service.ensure_configured()
        answer = service.stack(check_stack_id(stack_id))
        return {**answer.data, **freshness(answer), "canTrigger": may_trigger(connection, stack_id)}

    @bp.get("/stacks/<stack_id>/runs")
    def runs(stack_id: str) -> Any:
        require(READ, {"stackId": stack_id})
        connection, service = current()
        service.ensure_configured()
        stack_id = check_stack_id(stack_id)
        run_type = choice_arg("type", RUN_TYPES, "TRACKED")
        before = arg("before")
        answer = service.runs(stack_id, run_type, None if before is None else check_run_id("before", before))
        items = [with_actions(connection, stack_id, item) for item in answer.data["items"]]
        return {**answer.data, "items": items, "type": run_type, **freshness(answer)}

    @bp.get("/stacks/<stack_id>/runs/<run_id>")
    def run(stack_id: str, run_id: str) -> Any:
        require(READ, {"stackId": stack_id})
        connection, service = current()
        service.ensure_configured()
        answer = service.run(check_stack_id(stack_id), check_run_id("runId", run_id))
        return {**with_actions(connection, stack_id, answer.data), **freshness(answer)}

    @bp.post("/stacks/<stack_id>/trigger")
    def trigger(stack_id: str) -> Any:
        principal = current_principal()
        with audit.record("trigger", principal, stack=stack_id) as entry:
            require(TRIGGER, {"stackId": stack_id})
            connection, service = current()
            service.ensure_configured()
            refuse_if_read_only(connection, "triggering runs")
            result = service.trigger(check_stack_id(stack_id), before_call=entry.start)
            entry.finish("ok", spacelift_run=result["id"], detail=f"new run is {result['state']}")
        ctx.logger.info(
            "spacelift run %s triggered on stack %s by %s",
            result["id"], stack_id, principal.id,  # type: ignore[union-attr]
        )
        return result

    def run_action(stack_id: str, run_id: str, action: str) -> Any:
        principal = current_principal()
        assert principal is not None  # the barrier lets no anonymous caller here
        with audit.record(action, principal, stack=stack_id, run=run_id) as entry:
            require(f"spacelift.run.{action}", {"stackId": stack_id, "runId": run_id})
            connection, service = current()
            service.ensure_configured()
            refuse_if_read_only(connection, f"{action} on runs")
            stack_id = check_stack_id(stack_id)
            entry.run = run_id = check_run_id("runId", run_id)
            result = service.run_action(
                action, stack_id, run_id, note_for(principal), before_call=entry.start
            )
            entry.finish("ok", spacelift_run=result["id"], detail=f"run is {result['state']}")
        ctx.logger.info(
            "spacelift %s of run %s on stack %s by %s: %s",
            action, run_id, stack_id, principal.id, result["state"],
        )  # fmt: skip
        return result

    for action in RUN_ACTIONS:
        bp.add_url_rule(
            f"/stacks/<stack_id>/runs/<run_id>/{action}",
            endpoint=f"{action}_run",
            view_func=functools.partial(run_action, action=action),
            methods=["POST"],
        )

    admin.register(bp, ctx, connections, audit, require)

    @bp.get("/openapi.json")
    def openapi_document() -> Any:
        return openapi.document(current_app, prefix)

    return bp
