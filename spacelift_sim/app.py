"""The Flask app: `POST /graphql` like Spacelift's, plus the `/_sim/` controls for tests."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, jsonify, request
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    parse,
    validate,
)
from graphql.utilities import get_operation_ast

from .compat import drop_empty_variable_lists
from .schema import RequestContext, make_schema
from .world import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, DEFAULT_TOKEN_TTL, World

log = logging.getLogger("spacelift_sim")

EXTENSION = "spacelift_sim"
SLOW_DEFAULT_MS = 1000


class Ticker:
    """Advances the world by one step every `seconds` on a daemon thread."""

    def __init__(self, world: World, seconds: float) -> None:
        self.world = world
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spacelift-sim-ticker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.world.tick(1)
            except Exception:  # keep the world moving; the error is logged
                log.exception("tick failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class SimState:
    """What `create_app` keeps on `app.extensions["spacelift_sim"]`."""

    world: World
    strict_401: bool
    base_url: str | None
    ticker: Ticker | None

    def stop(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None


def create_app(
    world: World | None = None,
    *,
    stacks: int = 50,
    seed: int = 42,
    key_id: str = DEFAULT_KEY_ID,
    key_secret: str = DEFAULT_KEY_SECRET,
    token_ttl: int = DEFAULT_TOKEN_TTL,
    tick_seconds: float | None = None,
    strict_401: bool = False,
    base_url: str | None = None,
    activity: float = 0.004,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """A simulator app. Pass a `World` to share it with the test, or let one be built.

    `tick_seconds` starts a wall-clock ticker thread (off when 0 or None; stop it with
    `app.extensions["spacelift_sim"].stop()`). `base_url` fixes the JWT `aud`; by default it
    is the URL the request came in on, without `/graphql`.
    """
    if world is None:
        world = World(
            stacks, seed, key_id=key_id, key_secret=key_secret, token_ttl=token_ttl,
            activity=activity, clock=clock,
        )  # fmt: skip
    schema = make_schema()
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    ticker = Ticker(world, tick_seconds) if tick_seconds else None
    state = SimState(world, strict_401, base_url.rstrip("/") if base_url else None, ticker)
    app.extensions[EXTENSION] = state

    def error(status: int, message: str) -> Response:
        response = jsonify({"errors": [{"message": message}]})
        response.status_code = status
        return response

    @app.post("/graphql")
    def graphql_endpoint() -> Response:
        with world.lock:
            world.stats.requests += 1
        fault = world.draw_fault()
        if fault is not None:
            delay = fault.latency_ms or (SLOW_DEFAULT_MS if fault.mode == "slow" else 0)
            if delay:
                time.sleep(delay / 1000)
            faulted = _fault_response(fault.mode)
            if faulted is not None:
                return faulted
        try:
            body = json.loads(request.get_data(cache=False) or b"")
        except (ValueError, UnicodeDecodeError):
            return error(400, "request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return error(400, "request body must be a JSON object with a string 'query'")
        variables = body.get("variables")
        operation_name = body.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return error(400, "'variables' must be a JSON object")
        if operation_name is not None and not isinstance(operation_name, str):
            return error(400, "'operationName' must be a string")

        token, claims = None, None
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            claims = world.viewer_for(token) if scheme.lower() == "bearer" and token else None
            if claims is None and state.strict_401:
                return error(401, "unauthorized")

        try:
            document = parse(drop_empty_variable_lists(body["query"]))
        except GraphQLError as exc:
            return jsonify({"errors": [exc.formatted]})
        problems = validate(schema, document)
        if problems:
            return jsonify({"errors": [p.formatted for p in problems]})
        audience = state.base_url or request.url_root.rstrip("/")
        context = RequestContext(world, claims, token, audience)
        with world.lock:
            for field_name in _root_fields(document, operation_name):
                world.stats.operations[field_name] += 1
            result = execute(
                schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
            )
        return jsonify(result.formatted)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        code = getattr(exc, "code", None)
        if isinstance(code, int) and 400 <= code < 500:
            return error(code, getattr(exc, "description", None) or "bad request")
        log.exception("unexpected error")
        return error(500, "internal server error")

    # -- controls -----------------------------------------------------------------------------

    def payload() -> dict:
        data = request.get_json(force=True, silent=True)
        return data if isinstance(data, dict) else {}

    @app.get("/_sim/stats")
    def stats() -> Response:
        with world.lock:
            return jsonify(world.stats.as_dict())

    @app.post("/_sim/stats/reset")
    def stats_reset() -> Response:
        with world.lock:
            world.stats.requests = 0
            world.stats.operations.clear()
            world.stats.tokens_issued = 0
            return jsonify(world.stats.as_dict())

    @app.get("/_sim/faults")
    def faults() -> Response:
        with world.lock:
            return jsonify(world.faults.as_dict())

    @app.post("/_sim/faults")
    def set_faults() -> Response:
        data = payload()
        try:
            return jsonify(
                world.set_faults(
                    str(data.get("mode", "none")),
                    int(data.get("latency_ms") or 0),
                    float(data.get("probability", 1.0)),
                )
            )
        except (TypeError, ValueError) as exc:
            return error(400, str(exc))

    @app.post("/_sim/tick")
    def tick() -> Response:
        steps = payload().get("steps", 1)
        if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= 10_000:
            return error(400, "steps must be an integer between 0 and 10000")
        return jsonify({"steps": steps, "transitions": world.tick(steps)})

    @app.post("/_sim/stacks")
    def upsert_stack() -> Response:
        try:
            stack = world.upsert_stack(payload())
        except ValueError as exc:
            return error(400, str(exc))
        return jsonify(
            {
                "id": stack.id, "name": stack.name, "description": stack.description,
                "state": stack.state, "labels": stack.labels, "space": stack.space,
                "branch": stack.branch, "isDisabled": stack.is_disabled,
                "lockedBy": stack.locked_by,
            }
        )  # fmt: skip

    @app.post("/_sim/reset")
    def reset() -> Response:
        world.reset()
        world.set_faults("none")
        return jsonify({"stacks": len(world.all_stacks()), "seed": world.seed})

    return app


def _fault_response(mode: str) -> Response | None:
    if mode == "down":
        return Response(
            "simulated outage: Spacelift is down\n",
            status=503,
            mimetype="text/plain",
            headers={"Retry-After": "1"},
        )
    if mode == "http500":
        response = jsonify({"errors": [{"message": "internal server error"}]})
        response.status_code = 500
        return response
    if mode == "graphql_error":
        return jsonify({"data": None, "errors": [{"message": "simulated fault: internal error"}]})
    if mode == "malformed":
        return Response(
            '{"data": {"stacks": [{"id": "prod-', status=200, mimetype="application/json"
        )
    return None


def _root_fields(document: DocumentNode, operation_name: str | None) -> list[str]:
    """Names of the root fields the executed operation selects (aliases ignored)."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return []
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: list[str] = []

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, seen | {name})

    walk(operation.selection_set, frozenset())
    return names
