"""The JSON API under /api/spacelift: input checked at the edge, failures mapped in one place.

Every route needs credentials (the host's barrier) except /health. Read routes need the
`spacelift.stack.read` permission, the trigger `spacelift.run.trigger` (and not `readOnly`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from host import ApiError, PluginContext, authorize, current_principal, public_route
from spacelift_backend import listing, openapi
from spacelift_backend.cache import Cached
from spacelift_backend.config import Settings
from spacelift_backend.errors import SpaceliftFailure, invalid_parameter
from spacelift_backend.model import CATEGORIES
from spacelift_backend.service import SpaceliftService

READ = "spacelift.stack.read"
TRIGGER = "spacelift.run.trigger"

STACK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
RUN_ID = re.compile(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}")  # a ULID
# One token of `state`: a state name (any case) or a category name.
STATE_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
RUN_TYPES = ("TRACKED", "PROPOSED", "TASK")
MAX_TEXT = 200


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC ("2026-01-31T12:00:00.000Z"): the times Greenroom adds."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


# -- parameters ------------------------------------------------------------------------------
# Free-text filters (state, label, space, q) treat an empty value as "no filter"; every other
# parameter is absent or valid. The same rules are written as schemas in openapi.py.


def _arg(name: str) -> str | None:
    return request.args.get(name)


def _text_arg(name: str) -> str | None:
    value = _arg(name)
    if value is not None and len(value) > MAX_TEXT:
        raise invalid_parameter(name, f"must be at most {MAX_TEXT} characters long")
    return value or None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    value = _arg(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value) or not low <= int(value) <= high:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    return int(value)


def _choice_arg(name: str, choices: tuple[str, ...], default: str) -> str:
    value = _arg(name)
    if value is None:
        return default
    if value not in choices:
        raise invalid_parameter(name, f"must be one of {', '.join(choices)}")
    return value


def _stack_id(value: str) -> str:
    if not STACK_ID.fullmatch(value):
        raise invalid_parameter(
            "stackId", "must be a Spacelift stack id (letters, digits, '-', '_' and '.')"
        )
    return value


def _run_id(name: str, value: str) -> str:
    if not RUN_ID.fullmatch(value):
        raise invalid_parameter(name, "must be a Spacelift run id (a 26-character ULID)")
    return value.upper()


def stack_filter() -> listing.StackFilter:
    """The /stacks query string, checked: every problem names its parameter."""
    states: set[str] = set()
    for raw in (_text_arg("state") or "").split(","):
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
    locked = _choice_arg("locked", ("true", "false"), "")
    return listing.StackFilter(
        states=frozenset(states),
        labels=tuple(labels),
        space=_text_arg("space"),
        q=_text_arg("q"),
        locked={"true": True, "false": False}.get(locked),
        sort=_choice_arg("sort", listing.SORTS, "name"),
        page=_int_arg("page", 1, 1, 100_000),
        per_page=_int_arg("perPage", listing.DEFAULT_PER_PAGE, 1, listing.MAX_PER_PAGE),
    )


# -- the blueprint ---------------------------------------------------------------------------


def create_blueprint(ctx: PluginContext) -> Blueprint:
    """The backend's routes over one SpaceliftService (built from ctx's config and services)."""
    settings = Settings.from_config(ctx.config)
    service = SpaceliftService(settings, ctx.cache, ctx.http, ctx.logger)
    prefix = f"/api/{ctx.id}"
    bp = Blueprint("spacelift_api", __name__)

    @bp.errorhandler(SpaceliftFailure)
    def _failure(exc: SpaceliftFailure) -> Response:
        return exc.response()

    def require(action: str, resource: Any = None) -> None:
        if not authorize(current_principal(), action, resource):
            raise ApiError(403, "forbidden", f"you are not allowed to take the action {action}")

    def may_trigger(stack_id: str | None = None) -> bool:
        resource = {"stackId": stack_id} if stack_id else None
        return not settings.read_only and authorize(current_principal(), TRIGGER, resource)

    @bp.get("/health")
    @public_route
    def health() -> Any:
        return {"status": "ok"}

    @bp.get("/status")
    def status() -> Any:
        require(READ)
        out = service.status()
        out["lastSuccessAt"] = iso(out["lastSuccessAt"])
        out["tokenExpiresAt"] = iso(out["tokenExpiresAt"])
        if out["lastError"] is not None:
            out["lastError"] = {**out["lastError"], "at": iso(out["lastError"].get("at"))}
        return out

    @bp.get("/stacks")
    def stacks() -> Any:
        require(READ)
        service.ensure_configured()
        wanted = stack_filter()
        answer = service.stacks()
        return {
            **listing.select(answer.data, wanted),
            **freshness(answer),
            "canTrigger": may_trigger(),
        }

    @bp.get("/summary")
    def summary() -> Any:
        require(READ)
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
        service.ensure_configured()
        answer = service.stack(_stack_id(stack_id))
        return {**answer.data, **freshness(answer), "canTrigger": may_trigger(stack_id)}

    @bp.get("/stacks/<stack_id>/runs")
    def runs(stack_id: str) -> Any:
        require(READ, {"stackId": stack_id})
        service.ensure_configured()
        stack_id = _stack_id(stack_id)
        run_type = _choice_arg("type", RUN_TYPES, "TRACKED")
        before = _arg("before")
        answer = service.runs(stack_id, run_type, None if before is None else _run_id("before", before))
        return {**answer.data, "type": run_type, **freshness(answer)}

    @bp.get("/stacks/<stack_id>/runs/<run_id>")
    def run(stack_id: str, run_id: str) -> Any:
        require(READ, {"stackId": stack_id})
        service.ensure_configured()
        answer = service.run(_stack_id(stack_id), _run_id("runId", run_id))
        return {**answer.data, **freshness(answer)}

    @bp.post("/stacks/<stack_id>/trigger")
    def trigger(stack_id: str) -> Any:
        service.ensure_configured()
        if settings.read_only:
            raise ApiError(
                403,
                "spacelift_read_only",
                "triggering runs is disabled: the Spacelift plugin is in read-only mode "
                "(spacelift.readOnly)",
            )
        require(TRIGGER, {"stackId": stack_id})
        result = service.trigger(_stack_id(stack_id))
        ctx.logger.info(
            "spacelift run %s triggered on stack %s by %s",
            result["id"], stack_id, current_principal().id,  # type: ignore[union-attr]
        )
        return result

    @bp.get("/openapi.json")
    def openapi_document() -> Any:
        return openapi.document(current_app, prefix)

    return bp
