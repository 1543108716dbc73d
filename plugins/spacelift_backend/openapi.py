"""GET /openapi.json: an OpenAPI 3.1 document of the backend's routes.

The paths come from the app's URL map (every rule under the plugin's mount), the operations
from `OPERATIONS` below; a rule without an entry shows up marked undocumented, and a test keeps
the two in step.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from host import __version__ as host_version
from spacelift_backend import audit, listing
from spacelift_backend.model import CATEGORIES, RUN_ACTIONS

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


ERROR_DETAIL = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": STR,
        "message": STR,
        "hint": STR,
        "parameter": STR,
        "steps": {"type": "array", "items": STR},
        "fields": {"type": "object", "additionalProperties": STR,
                   "description": "invalid_settings: a message per form field."},
        "state": {**nullable(STR), "description": "spacelift_conflict on a run: its state."},
        "allowedStates": {"type": "array", "items": STR,
                          "description": "spacelift_conflict on a run: the states the action needs."},
    },
}  # fmt: skip

FRESHNESS = {
    "fetchedAt": {**TIME, "description": "When Spacelift sent this answer."},
    "stale": {**BOOL, "description": "True when Spacelift failed and this is the last good answer."},
    "error": {**ref("ErrorDetail"), "description": "Why the answer is stale (only when stale)."},
}

COMMIT = obj(
    {k: nullable(STR) for k in ("hash", "message", "authorName", "authorLogin", "url")}
    | {"timestamp": nullable(INT)}
)
TRACKED_COMMIT = obj(
    {k: nullable(STR) for k in ("hash", "message", "authorName", "url")} | {"timestamp": nullable(INT)}
)

STACK_PROPS: dict[str, Any] = {
    "id": STR,
    "name": STR,
    "description": nullable(STR),
    "labels": {"type": "array", "items": STR},
    "state": {**nullable(STR), "description": "Spacelift's state, unknown values passed through."},
    "branch": nullable(STR),
    "spaceDetails": obj({"id": STR, "name": STR}),
    "stateCategory": {"enum": list(CATEGORIES)},
    "stateSetAt": nullable(INT),
    "repository": nullable(STR),
    "namespace": nullable(STR),
    "provider": nullable(STR),
    "trackedCommit": nullable(ref("TrackedCommit")),
    "lockedBy": nullable(STR),
    "isDisabled": BOOL,
    "vendor": nullable(STR),
    "url": STR,
    "spaceUrl": nullable(STR),
}

RUN_PROPS: dict[str, Any] = {
    "id": STR,
    "type": nullable(STR),
    "state": nullable(STR),
    "stateCategory": {"enum": list(CATEGORIES)},
    "title": nullable(STR),
    "branch": nullable(STR),
    "commit": nullable(ref("Commit")),
    "createdAt": nullable(INT),
    "updatedAt": nullable(INT),
    "finished": BOOL,
    "duration": {**nullable(INT), "description": "Seconds from creation to the end, if finished."},
    "delta": nullable(
        obj({k: nullable(INT) for k in ("addCount", "changeCount", "deleteCount", "resources")})
    ),
    "triggeredBy": nullable(STR),
    "isMostRecent": BOOL,
    "driftDetection": BOOL,
    "url": STR,
}

HISTORY_ITEM = obj(
    {
        "state": nullable(STR),
        "stateCategory": {"enum": list(CATEGORIES)},
        "timestamp": nullable(INT),
        "terminal": BOOL,
        "hasLogs": BOOL,
        "stateVersion": nullable(INT),
        "note": nullable(STR),
        "username": nullable(STR),
    }
)

COUNTS = obj({c: INT for c in CATEGORIES})

ACTIONS = {
    "type": "array",
    "items": {"enum": list(RUN_ACTIONS)},
    "description": "What the caller may do to the run now: allowed by its state and by the "
    "permission policy, and not in read-only mode.",
}
CONNECTION = obj({"hostUrl": STR, "apiKey": STR, "readOnly": BOOL, "secretSet": BOOL})
SETTINGS_INPUT = {
    "type": "object",
    "required": ["hostUrl", "apiKey"],
    "additionalProperties": False,
    "properties": {
        "hostUrl": {**STR, "description": "The Spacelift host without https://."},
        "apiKey": {**STR, "description": "The API key id."},
        "apiSecret": {**STR, "description": "The API key secret; empty or absent keeps the one "
                      "in effect. Write-only: no answer carries it."},
        "readOnly": BOOL,
    },
}  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "ErrorDetail": ERROR_DETAIL,
    "Error": obj({"error": ref("ErrorDetail")}),
    "Commit": COMMIT,
    "TrackedCommit": TRACKED_COMMIT,
    "Counts": COUNTS,
    "Stack": obj(STACK_PROPS),
    "StackList": obj(
        {
            "items": {"type": "array", "items": ref("Stack")},
            "total": INT,
            "page": INT,
            "perPage": INT,
            "counts": {**ref("Counts"), "description": "Per category, over every filter but state."},
            "canTrigger": BOOL,
            **FRESHNESS,
        },
        ["items", "total", "page", "perPage", "counts", "canTrigger", "fetchedAt", "stale"],
    ),
    "Run": obj(RUN_PROPS),
    "RunListItem": obj(RUN_PROPS | {"actions": ACTIONS}),
    "StackDetail": obj(
        STACK_PROPS
        | {
            "trackedCommit": nullable(ref("Commit")),
            "trackedCommitSetBy": nullable(STR),
            "createdAt": nullable(INT),
            "repositoryURL": nullable(STR),
            "projectRoot": nullable(STR),
            "apiHost": nullable(STR),
            "configuration": obj(
                {
                    "administrative": BOOL,
                    "autodeploy": BOOL,
                    "autoretry": BOOL,
                    "managesStateFile": BOOL,
                    "runnerImage": nullable(STR),
                    "terraformVersion": nullable(STR),
                    "vendor": nullable(STR),
                    "vendorConfig": {"type": "object"},
                }
            ),
            "lockedAt": nullable(INT),
            "lockNote": nullable(STR),
            "starred": BOOL,
            "entityCount": nullable(INT),
            "blocked": BOOL,
            "blocker": nullable(ref("Run")),
            "workerPool": obj({"id": nullable(STR), "name": nullable(STR), "public": BOOL}),
            "lastTrackedRun": nullable(ref("Run")),
            "canTrigger": BOOL,
            **FRESHNESS,
        },
        [*STACK_PROPS, "configuration", "blocker", "workerPool", "lastTrackedRun", "canTrigger",
         "fetchedAt", "stale"],  # fmt: skip
    ),
    "RunList": obj(
        {
            "items": {"type": "array", "items": ref("RunListItem")},
            "nextBefore": {
                **nullable(STR),
                "description": "Pass as `before` for the next (older) page; null when empty.",
            },
            "type": {"enum": ["TRACKED", "PROPOSED", "TASK"]},
            **FRESHNESS,
        },
        ["items", "nextBefore", "type", "fetchedAt", "stale"],
    ),
    "RunDetail": obj(
        RUN_PROPS
        | {
            "stackId": STR,
            "stackName": STR,
            "needsApproval": BOOL,
            "expired": BOOL,
            "canRetry": BOOL,
            "canConfirm": BOOL,
            "command": nullable(STR),
            "actions": ACTIONS,
            "history": {"type": "array", "items": HISTORY_ITEM},
            "comments": {
                "type": "array",
                "items": obj(
                    {"body": nullable(STR), "createdAt": nullable(INT), "username": nullable(STR)}
                ),
            },
            **FRESHNESS,
        },
        [*RUN_PROPS, "stackId", "stackName", "actions", "history", "fetchedAt", "stale"],
    ),
    "Summary": obj(
        {
            "total": INT,
            "counts": ref("Counts"),
            "needsAttention": {
                "type": "array",
                "items": obj(
                    {
                        "id": STR,
                        "name": STR,
                        "state": nullable(STR),
                        "stateCategory": {"enum": list(CATEGORIES)},
                        "stateSetAt": nullable(INT),
                        "lockedBy": nullable(STR),
                        "reasons": {
                            "type": "array",
                            "items": {"enum": ["unconfirmed", "review", "failed", "locked"]},
                        },
                        "url": STR,
                    }
                ),
            },
            "runs": obj(
                {
                    "considered": INT,
                    "succeeded": INT,
                    "failed": INT,
                    "successRate": nullable({"type": "number"}),
                    "medianDuration": nullable({"type": "number"}),
                    "since": nullable(INT),
                }
            ),
            **FRESHNESS,
        },
        ["total", "counts", "needsAttention", "runs", "fetchedAt", "stale"],
    ),
    "RunResult": obj({"id": STR, "state": nullable(STR), "url": STR}),
    "Status": obj(
        {
            "configured": BOOL,
            "source": {
                "enum": ["saved", "config", "none"],
                "description": "Where the connection comes from: the administration page, "
                "app-config.yaml, or nowhere.",
            },
            "connected": BOOL,
            "host": nullable(STR),
            "url": nullable(STR),
            "readOnly": BOOL,
            "pollIntervalSeconds": INT,
            "lastSuccessAt": nullable(TIME),
            "tokenExpiresAt": nullable(TIME),
            "lastError": nullable(
                {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {**ERROR_DETAIL["properties"], "at": nullable(TIME)},
                }
            ),
        }
    ),
    "Health": obj({"status": {"const": "ok"}}),
    "Connection": CONNECTION,
    "SettingsInput": SETTINGS_INPUT,
    "AdminSettings": obj(
        {
            "source": {"enum": ["saved", "config", "none"]},
            "inEffect": nullable(ref("Connection")),
            "saved": nullable(obj({"hostUrl": STR, "apiKey": STR, "readOnly": BOOL,
                                   "savedAt": TIME, "savedBy": STR})),
            "config": nullable(ref("Connection")),
            "problem": {**nullable(STR), "description": "Why the saved settings are not in effect."},
        }
    ),  # fmt: skip
    "ConnectionTest": obj(
        {
            "ok": BOOL,
            "host": STR,
            "viewer": obj({"id": nullable(STR), "name": nullable(STR)}),
            "error": ref("ErrorDetail"),
        },
        ["ok", "host"],
    ),
    "AuditPage": obj(
        {
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "id": INT,
                        "time": TIME,
                        "user": {**STR, "description": "The principal: user:<name> or service:<subject>."},
                        "action": {"enum": list(audit.ACTIONS)},
                        "stack": nullable(STR),
                        "run": nullable(STR),
                        "result": {**STR, "description": "ok, denied, conflict, pending, or an error code."},
                        "spaceliftRun": {**nullable(STR), "description": "The run acted on, or started."},
                        "detail": nullable(STR),
                    }
                ),
            },
            "total": INT,
            "page": INT,
            "perPage": INT,
        }
    ),  # fmt: skip
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


AUTH = {"401": _error("No or invalid credentials."), "403": _error("Not allowed.")}
UPSTREAM = {
    "502": _error("spacelift_auth_failed, or spacelift_error with Spacelift's message."),
    "503": _error("spacelift_unreachable, or spacelift_not_configured with the steps."),
    "504": _error("spacelift_timeout."),
}
INVALID = {"422": _error("A parameter is invalid; `parameter` names it.")}
NOT_FOUND = {"404": _error("No such stack or run.")}

STACK_ID_PARAM = {
    "name": "stackId", "in": "path", "required": True,
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"},
}  # fmt: skip
RUN_ID_SCHEMA = {"type": "string", "pattern": r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$"}
_TOKEN = "[A-Za-z][A-Za-z0-9_]{0,63}"
STATE_SCHEMA = {"type": "string", "maxLength": 200,
                "pattern": f"^ *({_TOKEN})? *(, *({_TOKEN})? *)*$"}  # fmt: skip


def _query(name: str, schema: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description, **more}  # fmt: skip


RUN_ID_PARAM = {"name": "runId", "in": "path", "required": True, "schema": RUN_ID_SCHEMA}


def _run_action(action: str, summary: str) -> dict[str, Any]:
    note = ('Spacelift records the note "via Greenroom by <user>".' if action != "retry"
            else "Answers the new run.")  # fmt: skip
    return {
        "operationId": f"{action}Run",
        "summary": summary,
        "description": f"Needs the spacelift.run.{action} permission (403 forbidden), not "
        "read-only mode (403 spacelift_read_only), and a run whose current state allows it "
        "(409 spacelift_conflict naming the state). With a cookie session, the CSRF header. "
        f"The body is ignored. {note} Written to the audit trail.",
        "parameters": [STACK_ID_PARAM, RUN_ID_PARAM],
        "responses": {
            "200": _ok("RunResult", "The run after the action." if action != "retry" else "The new run."),
            **AUTH, **NOT_FOUND,
            "409": _error("spacelift_conflict: the run's state does not allow the action."),
            **INVALID, **UPSTREAM,
        },
    }  # fmt: skip


# (rule relative to the mount, method) -> operation
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/health", "GET"): {
        "operationId": "health",
        "summary": "Liveness of the plugin; public, reveals nothing.",
        "security": [],
        "responses": {"200": _ok("Health", "Always ok.")},
    },
    ("/status", "GET"): {
        "operationId": "status",
        "summary": "Configuration and connection status, with the last error and a hint.",
        "responses": {"200": _ok("Status", "The status (also when not configured)."), **AUTH},
    },
    ("/stacks", "GET"): {
        "operationId": "listStacks",
        "summary": "Stacks, filtered, sorted and paged over the cached full list.",
        "parameters": [
            _query("state", STATE_SCHEMA,
                   "Comma-separated state names (FAILED) or categories (" + ", ".join(CATEGORIES) + ")."),
            _query("label", {"type": "array", "items": {"type": "string", "maxLength": 200}},
                   "A label every stack must have; repeat for more.", style="form", explode=True),
            _query("space", {"type": "string", "maxLength": 200}, "A space id or name."),
            _query("q", {"type": "string", "maxLength": 200},
                   "Words to find in the id, name, description, labels, repository or branch."),
            _query("locked", {"type": "boolean"}, "Only locked (true) or unlocked (false) stacks."),
            _query("sort", {"enum": list(listing.SORTS)}, "Sort key; a leading - sorts descending."),
            _query("page", {"type": "integer", "minimum": 1, "maximum": 100000}, "From 1."),
            _query("perPage", {"type": "integer", "minimum": 1, "maximum": listing.MAX_PER_PAGE},
                   f"Items per page (default {listing.DEFAULT_PER_PAGE})."),
        ],  # fmt: skip
        "responses": {"200": _ok("StackList", "A page of stacks."), **AUTH, **INVALID, **UPSTREAM},
    },
    ("/summary", "GET"): {
        "operationId": "summary",
        "summary": "Counts by state category, stacks needing attention, recent run statistics.",
        "responses": {"200": _ok("Summary", "The summary."), **AUTH, **UPSTREAM},
    },
    ("/stacks/<stack_id>", "GET"): {
        "operationId": "getStack",
        "summary": "One stack with its configuration, blocker, worker pool and last tracked run.",
        "parameters": [STACK_ID_PARAM],
        "responses": {
            "200": _ok("StackDetail", "The stack."), **AUTH, **NOT_FOUND, **INVALID, **UPSTREAM
        },
    },
    ("/stacks/<stack_id>/runs", "GET"): {
        "operationId": "listRuns",
        "summary": "One page of a stack's runs, newest first.",
        "parameters": [
            STACK_ID_PARAM,
            _query("type", {"enum": ["TRACKED", "PROPOSED", "TASK"]},
                   "Tracked runs (default), proposed runs or tasks."),
            _query("before", RUN_ID_SCHEMA, "Only runs older than this run id (`nextBefore`)."),
        ],  # fmt: skip
        "responses": {
            "200": _ok("RunList", "A page of runs."), **AUTH, **NOT_FOUND, **INVALID, **UPSTREAM
        },
    },
    ("/stacks/<stack_id>/runs/<run_id>", "GET"): {
        "operationId": "getRun",
        "summary": "One run with its state history.",
        "parameters": [
            STACK_ID_PARAM,
            RUN_ID_PARAM,
        ],
        "responses": {
            "200": _ok("RunDetail", "The run."), **AUTH, **NOT_FOUND, **INVALID, **UPSTREAM
        },
    },
    ("/stacks/<stack_id>/trigger", "POST"): {
        "operationId": "triggerRun",
        "summary": "Trigger a tracked run; 403 spacelift_read_only in read-only mode.",
        "description": "Needs the spacelift.run.trigger permission, and the CSRF header with a "
        "cookie session. The body is ignored. Written to the audit trail.",
        "parameters": [STACK_ID_PARAM],
        "responses": {
            "200": _ok("RunResult", "The new run."),
            **AUTH, **NOT_FOUND,
            "409": _error("spacelift_conflict: the stack is disabled or locked by someone else."),
            **INVALID, **UPSTREAM,
        },  # fmt: skip
    },
    **{
        (f"/stacks/<stack_id>/runs/<run_id>/{action}", "POST"): _run_action(action, summary)
        for action, summary in (
            ("confirm", "Confirm an UNCONFIRMED run: Spacelift applies its plan."),
            ("discard", "Discard an UNCONFIRMED, QUEUED or READY run."),
            ("cancel", "Cancel a QUEUED or READY run before it starts."),
            ("retry", "Start a new run of a finished tracked or proposed run."),
        )
    },
    ("/admin/settings", "GET"): {
        "operationId": "getSettings",
        "summary": "The connection in effect, where it comes from, what is saved (admins only).",
        "responses": {"200": _ok("AdminSettings", "The settings, never the secret."), **AUTH},
    },
    ("/admin/settings", "PUT"): {
        "operationId": "saveSettings",
        "summary": "Save the connection; it takes effect at once in every worker (admins only).",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": ref("SettingsInput")}}},
        "responses": {
            "200": _ok("AdminSettings", "Saved."), **AUTH,
            "422": _error("invalid_settings, with `fields`: a message per field."),
            "503": _error("database_unavailable: nothing was saved."),
        },
    },  # fmt: skip
    ("/admin/settings", "DELETE"): {
        "operationId": "revertSettings",
        "summary": "Forget the saved connection: app-config.yaml is in effect again (admins only).",
        "responses": {
            "200": _ok("AdminSettings", "Reverted."), **AUTH,
            "503": _error("database_unavailable."),
        },
    },  # fmt: skip
    ("/admin/test-connection", "POST"): {
        "operationId": "testConnection",
        "summary": "Exchange the key and ask `viewer` with the values sent (admins only).",
        "description": "An empty apiSecret uses the secret in effect. A failed test is a 200 "
        "with ok false and the error, with its hint.",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": ref("SettingsInput")}}},
        "responses": {
            "200": _ok("ConnectionTest", "The outcome of the test."), **AUTH,
            "422": _error("invalid_settings, with `fields`."),
        },
    },  # fmt: skip
    ("/audit", "GET"): {
        "operationId": "auditTrail",
        "summary": "The audit trail, newest first (admins only).",
        "parameters": [
            _query("user", {"type": "string", "maxLength": 200},
                   "A principal (user:ann, service:ci) or a bare name."),
            _query("action", {"enum": list(audit.ACTIONS)}, "One action."),
            _query("stack", {"type": "string", "maxLength": 200}, "A stack id."),
            _query("result", {"type": "string", "maxLength": 200},
                   "ok, denied, conflict, pending, or an error code."),
            _query("page", {"type": "integer", "minimum": 1, "maximum": 100000}, "From 1."),
            _query("perPage", {"type": "integer", "minimum": 1, "maximum": audit.MAX_PER_PAGE},
                   f"Rows per page (default {audit.DEFAULT_PER_PAGE})."),
        ],
        "responses": {
            "200": _ok("AuditPage", "A page of the trail."), **AUTH, **INVALID,
            "503": _error("database_unavailable."),
        },
    },  # fmt: skip
    ("/openapi.json", "GET"): {
        "operationId": "openapi",
        "summary": "This document.",
        "responses": {
            "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}},
            **AUTH,
        },
    },
}


def openapi_path(rule: str) -> str:
    """Flask's "/stacks/<stack_id>" -> OpenAPI's "/stacks/{stackId}"."""

    def camel(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        head, *rest = name.split("_")
        return "{" + head + "".join(part.title() for part in rest) + "}"

    return re.sub(r"<([^>]+)>", camel, rule)


def rules_under(app: Flask, prefix: str) -> list[tuple[str, str]]:
    """(rule relative to `prefix`, method) for every route mounted under `prefix`."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule == prefix or rule.rule.startswith(prefix + "/"):
            for method in sorted(rule.methods or ()):
                if method in METHODS:
                    found.append((rule.rule[len(prefix) :], method))
    return sorted(found)


def document(app: Flask, prefix: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes mounted under `prefix`."""
    paths: dict[str, dict[str, Any]] = {}
    for rule, method in rules_under(app, prefix):
        operation = OPERATIONS.get((rule, method)) or {
            "summary": "undocumented",
            "responses": {"default": {"description": "undocumented"}},
        }
        paths.setdefault(openapi_path(prefix + rule), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Greenroom Spacelift backend",
            "version": host_version,
            "description": "Spacelift stacks and runs for Greenroom. Send "
            "`Authorization: Bearer <token>` (a static token of backend.auth.externalAccess) "
            "or a signed-in session cookie.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
