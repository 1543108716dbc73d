"""The Spacelift service: what the routes ask for, fetched through the client and the cache.

Each method returns a `Cached` answer (fresh, from the cache, or stale with its error) of data
already normalised by `model`, or raises `SpaceliftFailure`. It also keeps the connection
status (last success, last error) in the shared cache for `/status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import requests

from host import PluginCache
from spacelift_backend import model, queries
from spacelift_backend.cache import Cached, ResponseCache
from spacelift_backend.client import SpaceliftClient
from spacelift_backend.config import Settings
from spacelift_backend.errors import SpaceliftFailure, not_configured
from spacelift_backend.token_manager import Token, TokenManager

# How long the run statistics of /summary are reused: they change slowly, and one fetch reads
# the first page of runs of every stack.
RUN_STATS_TTL = 60.0

STATUS_SUCCESS = "status:last-success"
STATUS_ERROR = "status:last-error"
STATUS_TTL = 7 * 24 * 3600


def _nothing() -> None:
    return None


class SpaceliftService:
    """Stacks, runs and actions of one Spacelift account, shared by every viewer."""

    def __init__(
        self,
        settings: Settings,
        cache: PluginCache,
        http: requests.Session,
        logger: logging.Logger,
    ):
        self.settings = settings
        self.cache = cache
        self.logger = logger
        self.client: SpaceliftClient | None = None
        self.responses: ResponseCache | None = None
        self.links: model.Links | None = None
        if not settings.configured or settings.host_url is None:
            return
        for warning in settings.host_url.warnings:
            logger.warning(warning)
        # A call may take: a token exchange, the query, then both again after a refused token.
        longest = 4 * settings.request_timeout + 5

        def tokens(exchange: Callable[[], Any]) -> TokenManager:
            return TokenManager(cache, exchange, wait=2 * settings.request_timeout + 5)

        self.client = SpaceliftClient(settings, http, logger, tokens)
        self.responses = ResponseCache(cache, settings.cache_ttl, lock_wait=longest, logger=logger)
        self.links = model.Links(settings.host_url.base_url)

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.client is not None

    def ensure_configured(self) -> None:
        """Raise the "not configured" failure (503 with the steps) unless configured."""
        self._ready()

    def _ready(self) -> tuple[SpaceliftClient, ResponseCache, model.Links]:
        if self.client is None or self.responses is None or self.links is None:
            raise not_configured()
        return self.client, self.responses, self.links

    def _guarded(self, fetch: Callable[[], Any]) -> Callable[[], Any]:
        """`fetch`, recording the outcome for /status; an answer of an unexpected shape is an
        upstream error, never a 500."""

        def run() -> Any:
            try:
                result = fetch()
            except SpaceliftFailure as exc:
                if exc.kind in ("not_found", "conflict", "run_state"):
                    # Spacelift answered: the thing is just not there, or not in that state.
                    self._record_success()
                else:
                    self._record_failure(exc)
                raise
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                self.logger.warning("unexpected answer from Spacelift: %s", type(exc).__name__)
                failure = SpaceliftFailure(
                    "upstream", "Spacelift sent an answer of an unexpected shape"
                )
                self._record_failure(failure)
                raise failure from None
            self._record_success()
            return result

        return run

    def _record_success(self) -> None:
        self.cache.set(STATUS_SUCCESS, time.time(), ttl=STATUS_TTL)

    def _record_failure(self, exc: SpaceliftFailure) -> None:
        self.cache.set(STATUS_ERROR, {"at": time.time(), **exc.as_dict()}, ttl=STATUS_TTL)

    # -- reads -------------------------------------------------------------------------------

    def stacks(self) -> Cached:
        """Every stack the key can see, normalised: one paged `searchStacks` per cache window."""
        client, responses, links = self._ready()

        def fetch() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            after: str | None = None
            for _ in range(queries.MAX_PAGES):
                data = client.query(
                    "GreenroomStacks", queries.STACKS_PAGE, {"first": queries.PAGE_SIZE, "after": after}
                )
                connection = data["searchStacks"]
                for edge in connection["edges"]:
                    items.append(model.stack_item(edge["node"], links))
                page = connection["pageInfo"]
                after = page.get("endCursor")
                if not page.get("hasNextPage") or not after:
                    break
            return items

        return responses.get("stacks", None, self._guarded(fetch))

    def stack(self, stack_id: str) -> Cached:
        client, responses, links = self._ready()

        def fetch() -> dict[str, Any]:
            data = client.query("GreenroomStack", queries.STACK, {"id": stack_id})
            raw = data.get("stack")
            if raw is None:
                raise _no_stack(stack_id)
            return model.stack_detail(raw, links)

        return responses.get("stack", {"id": stack_id}, self._guarded(fetch))

    def runs(self, stack_id: str, run_type: str, before: str | None) -> Cached:
        """One page of a stack's runs of `run_type` (TRACKED, PROPOSED or TASK), newest first."""
        client, responses, links = self._ready()
        variables = {"id": stack_id, "before": before}

        def fetch() -> dict[str, Any]:
            operation, document = queries.RUN_LISTS[run_type]
            data = client.query(operation, document, variables)
            raw = data.get("stack")
            if raw is None:
                raise _no_stack(stack_id)
            items = [model.run_item(r, stack_id, links) for r in raw.get("runs") or []]
            return {"items": items, "nextBefore": items[-1]["id"] if items else None}

        return responses.get(
            "runs", {**variables, "type": run_type}, self._guarded(fetch)
        )

    def run(self, stack_id: str, run_id: str) -> Cached:
        client, responses, links = self._ready()
        variables = {"id": stack_id, "runId": run_id}

        def fetch() -> dict[str, Any]:
            data = client.query("GreenroomRun", queries.RUN, variables)
            raw = data.get("stack")
            if raw is None:
                raise _no_stack(stack_id)
            run = raw.get("run")
            if run is None:
                raise _no_run(stack_id, run_id)
            return model.run_detail(run, stack_id, str(raw.get("name") or stack_id), links)

        return responses.get("run", variables, self._guarded(fetch))

    def recent_runs(self) -> Cached:
        """The first page of tracked runs of every stack, for the summary's statistics."""
        client, responses, _links = self._ready()

        def fetch() -> list[dict[str, Any]]:
            runs: list[dict[str, Any]] = []
            after: str | None = None
            for _ in range(queries.MAX_PAGES):
                data = client.query(
                    "GreenroomRecentRuns",
                    queries.RECENT_RUNS_PAGE,
                    {"first": queries.PAGE_SIZE, "after": after},
                )
                connection = data["searchStacks"]
                for edge in connection["edges"]:
                    for run in edge["node"].get("runs") or []:
                        runs.append({k: run.get(k) for k in ("type", "state", "createdAt", "updatedAt")})
                page = connection["pageInfo"]
                after = page.get("endCursor")
                if not page.get("hasNextPage") or not after:
                    break
            return runs

        ttl = max(self.settings.cache_ttl, RUN_STATS_TTL)
        return responses.get("recent-runs", None, self._guarded(fetch), ttl=ttl)

    # -- actions -----------------------------------------------------------------------------

    def trigger(self, stack_id: str, before_call: Callable[[], None] = _nothing) -> dict[str, Any]:
        """Start a tracked run; the stack's cached answers are due for a refetch at once.
        `before_call` runs just before the mutation is sent (the audit trail's pending row)."""
        client, _responses, links = self._ready()

        def call() -> dict[str, Any]:
            try:
                data = client.mutate("GreenroomTriggerRun", queries.TRIGGER_RUN, {"stack": stack_id})
            except SpaceliftFailure as exc:
                if exc.kind == "not_found":
                    raise _no_stack(stack_id) from None
                reason = self._refusal_reason(stack_id) if exc.kind == "upstream" else None
                if reason is not None:
                    raise SpaceliftFailure("conflict", f"{reason} ({exc.message})") from None
                raise
            run = data.get("runTrigger")
            if not isinstance(run, dict) or not run.get("id"):
                raise SpaceliftFailure("upstream", "Spacelift did not return the new run")
            return model.run_result(run, stack_id, links)

        before_call()
        result = self._guarded(call)()
        self._invalidate(stack_id, "TRACKED")
        return result

    def run_state(self, stack_id: str, run_id: str) -> dict[str, Any]:
        """The run's id, type, state and canRetry as they are now: past the response cache,
        because an action is decided on it."""
        client, _responses, _links = self._ready()

        def fetch() -> dict[str, Any]:
            data = client.query("GreenroomRunState", queries.RUN_STATE, {"id": stack_id, "runId": run_id})
            stack = data.get("stack")
            if stack is None:
                raise _no_stack(stack_id)
            run = stack.get("run")
            if not isinstance(run, dict):
                raise _no_run(stack_id, run_id)
            return run

        return self._guarded(fetch)()

    def run_action(
        self,
        action: str,
        stack_id: str,
        run_id: str,
        note: str | None,
        before_call: Callable[[], None] = _nothing,
    ) -> dict[str, Any]:
        """Confirm, discard, cancel or retry a run, if its current state allows it (else the
        `run_state` 409 naming the state). Answers the run (retry: the new run)."""
        client, _responses, links = self._ready()
        run = self.run_state(stack_id, run_id)
        self._check_state(action, run_id, run)
        operation, document = queries.RUN_MUTATIONS[action]
        variables: dict[str, Any] = {"stack": stack_id, "run": run_id}
        if action != "retry":
            variables["note"] = note

        def call() -> dict[str, Any]:
            try:
                data = client.mutate(operation, document, variables)
            except SpaceliftFailure as exc:
                if exc.kind == "not_found":
                    raise _no_run(stack_id, run_id) from None
                if exc.kind == "upstream":
                    # Refused: if the run moved on since we read it, say so in our words.
                    self._check_state(action, run_id, self._state_or(run, stack_id, run_id))
                    if action == "retry":
                        reason = self._refusal_reason(stack_id)
                        if reason is not None:
                            raise SpaceliftFailure("conflict", f"{reason} ({exc.message})") from None
                raise
            answer = data.get(queries.RUN_MUTATION_FIELDS[action])
            if not isinstance(answer, dict) or not answer.get("id"):
                raise SpaceliftFailure("upstream", f"Spacelift did not return the run ({action})")
            return model.run_result(answer, stack_id, links)

        before_call()
        try:
            return self._guarded(call)()
        finally:
            # Whatever happened, the run and its lists are due for a refetch.
            self._invalidate(stack_id, str(run.get("type") or "TRACKED"), run_id)

    def _check_state(self, action: str, run_id: str, run: dict[str, Any]) -> None:
        state, run_type = run.get("state"), run.get("type")
        can_retry = run.get("canRetry") if isinstance(run.get("canRetry"), bool) else None
        if not model.action_allowed(action, state, run_type, can_retry):
            raise SpaceliftFailure(
                "run_state", model.state_conflict(action, run_id, state, run_type),
                state=state, allowedStates=sorted(model.ACTION_STATES[action]),
            )  # fmt: skip

    def _state_or(self, known: dict[str, Any], stack_id: str, run_id: str) -> dict[str, Any]:
        try:
            return self.run_state(stack_id, run_id)
        except SpaceliftFailure:
            return known

    def _invalidate(self, stack_id: str, run_type: str, run_id: str | None = None) -> None:
        """After an action: the stack list, the stack, its newest runs of the run's kind and
        the run are fetched again on their next read (kept meanwhile as the last good answer)."""
        _client, responses, _links = self._ready()
        list_type = run_type if run_type in queries.RUN_LISTS else "TRACKED"  # DESTROY: tracked
        responses.invalidate("stacks")
        responses.invalidate("stack", {"id": stack_id})
        responses.invalidate("runs", {"id": stack_id, "before": None, "type": list_type})
        if run_id is not None:
            responses.invalidate("run", {"id": stack_id, "runId": run_id})

    def _refusal_reason(self, stack_id: str) -> str | None:
        """Why Spacelift may have refused an action on the stack: disabled, or locked by
        someone else. None when the stack shows neither (or cannot be read)."""
        client, _responses, _links = self._ready()
        try:
            data = client.query("GreenroomStackBlockers", queries.STACK_BLOCKERS, {"id": stack_id})
        except SpaceliftFailure:
            return None
        stack, viewer = data.get("stack"), data.get("viewer") or {}
        if not isinstance(stack, dict):
            return None
        if stack.get("isDisabled"):
            return f"stack {stack_id!r} is disabled"
        locked_by = stack.get("lockedBy")
        if locked_by and locked_by not in (viewer.get("name"), viewer.get("id")):
            return f"stack {stack_id!r} is locked by {locked_by}"
        return None

    # -- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Configuration and connection status; probes Spacelift (cached like any answer)."""
        if not self.configured:
            error = not_configured()
            return {
                "configured": False,
                "connected": False,
                "host": None,
                "url": None,
                "readOnly": False,
                "pollIntervalSeconds": self.settings.poll_interval,
                "lastSuccessAt": None,
                "tokenExpiresAt": None,
                "lastError": {**error.as_dict(), "at": None},
            }
        client, responses, _links = self._ready()
        connected = True
        try:
            probe = responses.get(
                "viewer", None, self._guarded(lambda: client.query("GreenroomViewer", queries.VIEWER))
            )
            connected = not probe.stale
        except SpaceliftFailure:
            connected = False
        last_success = self.cache.get(STATUS_SUCCESS)
        last_error = self.cache.get(STATUS_ERROR)
        if isinstance(last_error, dict) and isinstance(last_success, float | int):
            if last_success > last_error.get("at", 0) and connected:
                last_error = None
        token = client.tokens.status()
        assert self.settings.host_url is not None
        return {
            "configured": True,
            "connected": connected,
            "host": self.settings.host_url.netloc,
            "url": self.settings.host_url.base_url,
            "readOnly": self.settings.read_only,
            "pollIntervalSeconds": self.settings.poll_interval,
            "lastSuccessAt": last_success if isinstance(last_success, float | int) else None,
            "tokenExpiresAt": token["validUntil"] if token else None,
            "lastError": last_error if isinstance(last_error, dict) else None,
        }


def _no_stack(stack_id: str) -> SpaceliftFailure:
    return SpaceliftFailure(
        "not_found", f"no stack {stack_id!r} in Spacelift (or the API key cannot see it)"
    )


def _no_run(stack_id: str, run_id: str) -> SpaceliftFailure:
    return SpaceliftFailure("not_found", f"stack {stack_id!r} has no run {run_id!r}")


class _SingleUseTokens:
    """The token of one connection test: exchanged on demand, never shared or cached."""

    def __init__(self, exchange: Callable[[], Token]):
        self.exchange = exchange
        self.token: Token | None = None

    def get(self) -> Token:
        if self.token is None:
            self.token = self.exchange()
        return self.token

    def drop(self, token: Token) -> None:
        self.token = None

    def status(self) -> dict[str, Any] | None:
        return None


def check_connection(
    settings: Settings, http: requests.Session, logger: logging.Logger
) -> dict[str, Any]:
    """Exchange the key of `settings` for a token and ask `viewer`, touching no shared cache:
    `{"ok": true, "viewer": {id, name}}`, or `{"ok": false, "error": {code, message, hint}}`."""
    client = SpaceliftClient(settings, http, logger, _SingleUseTokens)  # type: ignore[arg-type]
    try:
        data = client.query("GreenroomViewer", queries.VIEWER)
    except SpaceliftFailure as exc:
        return {"ok": False, "error": exc.as_dict()}
    except (KeyError, TypeError, AttributeError, ValueError):
        failure = SpaceliftFailure("upstream", "Spacelift sent an answer of an unexpected shape")
        return {"ok": False, "error": failure.as_dict()}
    viewer = data.get("viewer") or {}
    return {"ok": True, "viewer": {"id": viewer.get("id"), "name": viewer.get("name")}}
