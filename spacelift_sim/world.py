"""The simulated Spacelift account: stacks, runs, the state machine, auth, counters and faults.

One `World` is one account. Every public method takes the world's lock, so the GraphQL view,
the wall-clock ticker and test code can use it from any thread.
"""

from __future__ import annotations

import base64
import bisect
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import generate
from .model import (
    BLOCKING_RUN_TYPES,
    OUTCOMES,
    STATE_NEUTRAL,
    STATE_RUN_TYPES,
    TERMINAL_RUN_STATES,
    Commit,
    Run,
    SimError,
    Space,
    Stack,
    VendorConfig,
    WorkerPool,
    decode_base32,
    make_ulid,
    next_state,
    ulid_stack_index,
)
from .tokens import TokenIssuer

DEFAULT_KEY_ID = "01SIMKEY0000000000000000AA"
DEFAULT_KEY_SECRET = "sim-secret"
DEFAULT_KEY_NAME = "sim-api-key"
DEFAULT_TOKEN_TTL = 36000
RUNS_PAGE_SIZE = 20  # runs(before:), proposedRuns(before:) and tasks(before:)
SEARCH_DEFAULT_FIRST = 50
SEARCH_MAX_FIRST = 100
FAULT_MODES = ("none", "down", "http500", "graphql_error", "slow", "malformed", "revoke_tokens")
STATE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
ORDER_FIELDS = ("name", "id", "state", "stateSetAt", "createdAt", "starred", "space")

# Outcomes of runs created while the simulator runs (triggered or pushed): seeded failures.
LIVE_OUTCOMES = (("changes", 70), ("noop", 14), ("plan_failed", 8), ("apply_failed", 5),
                 ("init_failed", 3))  # fmt: skip


@dataclass
class Stats:
    """Counters for `/_sim/stats`: HTTP requests to /graphql and executed root fields."""

    requests: int = 0
    operations: Counter = field(default_factory=Counter)
    tokens_issued: int = 0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "operations": dict(sorted(self.operations.items())),
            "tokens_issued": self.tokens_issued,
        }


@dataclass
class Faults:
    """The fault injected into /graphql answers; see docs/simulator.md for each mode."""

    mode: str = "none"
    latency_ms: int = 0
    probability: float = 1.0

    def as_dict(self) -> dict:
        return {"mode": self.mode, "latency_ms": self.latency_ms, "probability": self.probability}


class World:
    """A seeded, living Spacelift account.

    `stacks` and `seed` fix the content. `activity` is the chance per stack and tick that a
    git push starts a new tracked run (0 turns the world still, as state-machine tests want).
    `clock` returns Unix seconds; tests may pass a fake one.
    """

    def __init__(
        self,
        stacks: int = 50,
        seed: int = 42,
        *,
        key_id: str = DEFAULT_KEY_ID,
        key_secret: str = DEFAULT_KEY_SECRET,
        key_name: str = DEFAULT_KEY_NAME,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        activity: float = 0.004,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.stack_count = stacks
        self.seed = seed
        self.activity = activity
        self.clock = clock
        self.tokens = TokenIssuer(key_id, key_secret, token_ttl, clock, key_name)
        self.stats = Stats()
        self.faults = Faults()
        self._fault_rng = random.Random(f"{seed}/faults")
        self._build()

    # -- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.start = int(self.clock())
        self.spaces: dict[str, Space] = generate.build_spaces()
        self.worker_pools: dict[str, WorkerPool] = generate.build_worker_pools()
        names = generate.stack_names(random.Random(f"{self.seed}/names"), self.stack_count)
        self.stacks: dict[str, Stack] = {}
        self._by_index: dict[int, Stack] = {}
        for index, name in enumerate(names):
            stack = generate.build_stack(
                self.seed, index, name, self.start, self.spaces, self.worker_pools
            )
            self.stacks[stack.id] = stack
            self._by_index[index] = stack
        self._next_index = len(names)
        # Stacks whose runs can move on a tick; their histories are built on the first tick.
        # (A stack waiting for approval cannot move until someone confirms or discards.)
        self._active: set[str] = {
            s.id
            for s in self.stacks.values()
            if s.plan
            and s.plan["final"] in generate.ACTIVE_STATES
            and s.plan["final"] != "UNCONFIRMED"
        }
        self._rng = random.Random(f"{self.seed}/live")
        self._scripted: dict[str, list[str]] = {}
        self._sorted_cache: dict[str, tuple[list[Stack], list[tuple]]] = {}

    def prepare(self) -> None:
        """Build now the histories the first tick would build (a long-running server calls this
        before serving, so that tick does not hold the lock for seconds on a big world)."""
        with self.lock:
            for stack_id in self._active:
                self.runs_of(self.stacks[stack_id])

    def reset(self) -> None:
        """Back to the seeded world. Tokens, counters and faults are left alone."""
        with self.lock:
            self._build()

    # -- reading ------------------------------------------------------------------------------

    def stack(self, stack_id: str) -> Stack | None:
        with self.lock:
            return self.stacks.get(stack_id)

    def all_stacks(self) -> list[Stack]:
        with self.lock:
            return list(self.stacks.values())

    def runs_of(self, stack: Stack) -> list[Run]:
        """All runs of the stack, oldest first (building the seeded history on first use)."""
        with self.lock:
            if stack.runs is None:
                stack.runs = generate.build_history(self.seed, stack, self._seeded_id(stack))
                stack.run_ids = {r.id: r for r in stack.runs}
                for run in reversed(stack.runs):
                    if run.type in STATE_RUN_TYPES and run.state not in STATE_NEUTRAL:
                        stack.state_run_id = run.id
                        break
            return stack.runs

    def _seeded_id(self, stack: Stack) -> Callable[[int, random.Random], str]:
        def make_id(created_at: int, rng: random.Random) -> str:
            ms = created_at * 1000 + rng.randint(0, 999)
            return make_ulid(ms, stack.index, rng.getrandbits(60))

        return make_id

    def active_runs(self, stack: Stack) -> list[Run]:
        with self.lock:
            return [r for r in self.runs_of(stack) if r.state not in TERMINAL_RUN_STATES]

    def blocker(self, stack: Stack) -> Run | None:
        """The blocking run holding the stack (not QUEUED, not finished), if any."""
        with self.lock:
            if stack.runs is None and not (
                stack.plan and stack.plan["final"] in generate.ACTIVE_STATES
            ):
                return None  # a seeded stack at rest: no need to build its history
            for run in self.active_runs(stack):
                if run.type in BLOCKING_RUN_TYPES and run.state != "QUEUED":
                    return run
            return None

    def runs_page(self, stack: Stack, types: Iterable[str], before: str | None) -> list[Run]:
        """Newest first, at most RUNS_PAGE_SIZE, only runs older than `before` when given."""
        wanted = frozenset(types)
        page: list[Run] = []
        with self.lock:
            for run in reversed(self.runs_of(stack)):
                if run.type not in wanted or (before is not None and run.id >= before):
                    continue
                page.append(run)
                if len(page) == RUNS_PAGE_SIZE:
                    break
        return page

    def run(self, stack: Stack, run_id: str) -> Run | None:
        with self.lock:
            self.runs_of(stack)
            return stack.run_ids.get(run_id)

    def stack_of_run(self, run_id: str) -> Stack | None:
        with self.lock:
            index = ulid_stack_index(run_id)
            stack = self._by_index.get(index) if index is not None else None
            if stack is not None and self.run(stack, run_id) is not None:
                return stack
            return None

    def is_most_recent(self, run: Run) -> bool:
        stack = self.stacks.get(run.stack_id)
        return stack is not None and stack.state_run_id == run.id

    # -- search -------------------------------------------------------------------------------

    def search_stacks(
        self,
        first: int | None = None,
        after: str | None = None,
        full_text: str | None = None,
        predicates: list[dict] | None = None,
        order_by: dict | None = None,
    ) -> tuple[list[tuple[Stack, str]], bool, bool]:
        """One page of stacks: ([(stack, cursor)], has_next_page, has_previous_page)."""
        first = SEARCH_DEFAULT_FIRST if first is None else first
        if first < 0:
            raise SimError("first must not be negative")
        first = min(first, SEARCH_MAX_FIRST)
        order_field = (order_by or {}).get("field") or "name"
        descending = (order_by or {}).get("direction") == "DESC"
        if order_field not in ORDER_FIELDS:
            raise SimError(
                f'unknown order field "{order_field}"; use one of {", ".join(ORDER_FIELDS)}'
            )
        matchers = [self._predicate(p) for p in predicates or []]
        words = (full_text or "").lower().split()
        with self.lock:
            ordered, keys = self._sorted(order_field)
            if descending:
                ordered, keys = ordered[::-1], keys[::-1]
            start = 0
            if after:
                cursor_key = _decode_cursor(after)
                try:
                    if descending:
                        start = len(keys) - bisect.bisect_left(keys[::-1], cursor_key)
                    else:
                        start = bisect.bisect_right(keys, cursor_key)
                except TypeError as exc:  # a cursor from another ordering
                    raise SimError("invalid cursor") from exc
            page: list[tuple[Stack, str]] = []
            has_next = False
            for position in range(start, len(ordered)):
                stack = ordered[position]
                if words and not all(w in stack.search_text for w in words):
                    continue
                if not all(match(stack) for match in matchers):
                    continue
                if len(page) == first:
                    has_next = True
                    break
                page.append((stack, _encode_cursor(keys[position])))
            return page, has_next, bool(after) and start > 0

    def _sorted(self, order_field: str) -> tuple[list[Stack], list[tuple]]:
        def key(stack: Stack) -> tuple:
            value = {
                "name": stack.name,
                "id": stack.id,
                "state": stack.state,
                "stateSetAt": stack.state_set_at,
                "createdAt": stack.created_at,
                "starred": stack.starred,
                "space": stack.space,
            }[order_field]
            # None sorts first; the id breaks ties so cursors are exact.
            return (0, 0, stack.id) if value is None else (1, value, stack.id)

        cached = self._sorted_cache.get(order_field)
        if cached is None:
            ordered = sorted(self.stacks.values(), key=key)
            cached = self._sorted_cache[order_field] = (ordered, [key(s) for s in ordered])
        return cached

    def _predicate(self, predicate: dict) -> Callable[[Stack], bool]:
        name = predicate.get("field")
        constraint = predicate.get("constraint") or {}
        exclude = bool(predicate.get("exclude"))
        strings = [*(constraint.get("stringMatches") or []), *(constraint.get("enumEquals") or [])]
        booleans = constraint.get("booleanEquals") or []

        def values_of(stack: Stack) -> list:
            if name == "label":
                return stack.labels
            if name == "vendor":
                return [stack.vendor.typename.removeprefix("StackConfigVendor").upper()]
            attribute = {
                "state": stack.state, "name": stack.name, "space": stack.space,
                "branch": stack.branch, "repository": stack.repository,
                "projectRoot": stack.project_root, "workerPool": stack.worker_pool,
                "commit": stack.tracked_commit.hash if stack.tracked_commit else None,
                "administrative": stack.administrative, "locked": stack.locked_by is not None,
                "isDisabled": stack.is_disabled, "starred": stack.starred, "id": stack.id,
            }  # fmt: skip
            return [attribute[name]]

        exact = name in ("state", "space", "label", "vendor", "id", "workerPool")
        fuzzy_needles = [s.lower() for s in strings]

        if name not in (
            "label", "vendor", "state", "name", "space", "branch", "repository", "projectRoot",
            "workerPool", "commit", "administrative", "locked", "isDisabled", "starred", "id",
        ):  # fmt: skip
            raise SimError(f'unknown predicate field "{name}"')

        def matches(stack: Stack) -> bool:
            hit = False
            for value in values_of(stack):
                if isinstance(value, bool):
                    hit = value in booleans
                elif value is None:
                    hit = False
                elif exact:
                    hit = value in strings
                else:
                    hit = any(n in value.lower() for n in fuzzy_needles)
                if hit:
                    break
            return hit != exclude

        return matches

    # -- the clock ----------------------------------------------------------------------------

    def tick(self, steps: int = 1) -> int:
        """Advance every moving run by one state per step; returns how many transitions happened."""
        moved = 0
        with self.lock:
            for _ in range(max(0, steps)):
                now = int(self.clock())
                for stack_id in sorted(self._active, key=lambda i: self.stacks[i].index):
                    moved += self._step(self.stacks[stack_id], now)
                moved += self._pushes(now)
        return moved

    def _step(self, stack: Stack, now: int) -> int:
        moved = 0
        active = self.active_runs(stack)
        for run in active:
            if run.type not in BLOCKING_RUN_TYPES:
                moved += self._advance(stack, run, now)
        holder = next(
            (r for r in active if r.type in BLOCKING_RUN_TYPES and r.state != "QUEUED"), None
        )
        if holder is not None:
            moved += self._advance(stack, holder, now)
        else:
            waiting = next((r for r in active if r.type in BLOCKING_RUN_TYPES), None)
            if waiting is not None:
                self._move(stack, waiting, "READY", now)
                moved += 1
        if not self.active_runs(stack):
            self._active.discard(stack.id)
        return moved

    def _advance(self, stack: Stack, run: Run, now: int) -> int:
        if run.state == "QUEUED":
            nxt: str | None = "READY"
        else:
            nxt = next_state(run, stack.autodeploy and stack.locked_by is None)
        if nxt is None:
            return 0
        if run.state == "PLANNING" and nxt != "FAILED":
            run.delta = generate._delta(self._rng, run.outcome)
        self._move(stack, run, nxt, now)
        return 1

    def _move(
        self,
        stack: Stack,
        run: Run,
        state: str,
        now: int,
        note: str | None = None,
        username: str | None = None,
    ) -> None:
        run.record(state, now, note, username)
        if run.type in STATE_RUN_TYPES and state not in STATE_NEUTRAL:
            stack.state = state
            stack.state_set_at = run.updated_at
            stack.state_run_id = run.id
            if state == "FINISHED":
                stack.tracked_commit = run.commit
                if run.delta is not None:
                    stack.entity_count = run.delta.resources
            self._sorted_cache.clear()
        elif state in STATE_NEUTRAL and stack.state_run_id == run.id:
            # A READY run cancelled: the stack goes back to what the run before it left.
            previous = next(
                (
                    r
                    for r in reversed(stack.runs or [])
                    if r.type in STATE_RUN_TYPES and r.state not in STATE_NEUTRAL
                ),
                None,
            )
            stack.state = previous.state if previous else "NONE"
            stack.state_set_at = now
            stack.state_run_id = previous.id if previous else None
            self._sorted_cache.clear()

    def _pushes(self, now: int) -> int:
        """Seeded git pushes: new tracked runs on random stacks (the world lives)."""
        if self.activity <= 0 or not self.stacks:
            return 0
        expected = self.activity * len(self.stacks)
        count = int(expected) + (1 if self._rng.random() < expected - int(expected) else 0)
        started = 0
        for _ in range(count):
            stack = self._by_index.get(int(self._rng.random() * self._next_index))
            if stack is None or stack.is_disabled or stack.locked_by is not None:
                continue
            author = generate._pick(self._rng, generate.HUMANS + generate.BOTS)
            commit = generate._commit(self._rng, stack, now, author)
            self._new_run(stack, "TRACKED", commit, None, now)
            started += 1
        return started

    # -- runs: mutations ----------------------------------------------------------------------

    def _require_stack(self, stack_id: str) -> Stack:
        stack = self.stacks.get(stack_id)
        if stack is None:
            raise SimError("not found")
        return stack

    def _require_run(self, stack: Stack, run_id: str | None, action: str, needs: str) -> Run:
        if run_id is None:
            run = self.blocker(stack)
            if run is None:
                raise SimError(f"stack {stack.id} has no blocking run; {action} needs {needs}")
            return run
        run = self.run(stack, run_id)
        if run is None:
            raise SimError("not found")
        return run

    def _new_run(
        self,
        stack: Stack,
        run_type: str,
        commit: Commit,
        triggered_by: str | None,
        now: int,
        command: str | None = None,
        skip_initialization: bool = False,
    ) -> Run:
        runs = self.runs_of(stack)
        last_ms = decode_base32(runs[-1].id[:10]) if runs else 0
        ms = max(int(self.clock() * 1000), (last_ms or 0) + 1)
        scripted = self._scripted.get(stack.id)
        if scripted:
            outcome = scripted.pop(0)
        else:
            outcome = generate._weighted(self._rng, LIVE_OUTCOMES)
        run = Run(
            id=make_ulid(ms, stack.index, self._rng.getrandbits(60)),
            stack_id=stack.id,
            type=run_type,
            state="QUEUED",
            title=commit.message if run_type != "TASK" else "Task",
            branch=stack.branch,
            commit=commit,
            created_at=now,
            updated_at=now,
            triggered_by=triggered_by,
            outcome=outcome,
            command=command,
            skip_initialization=skip_initialization,
        )
        run.record("QUEUED", now)
        runs.append(run)
        stack.run_ids[run.id] = run
        self._active.add(stack.id)
        return run

    def _check_can_start(self, stack: Stack, user: str) -> None:
        if stack.is_disabled:
            raise SimError(f"stack {stack.id} is disabled")
        if stack.locked_by is not None and stack.locked_by != user:
            raise SimError(f"stack {stack.id} is locked by {stack.locked_by}")

    def trigger_run(
        self,
        stack_id: str,
        user: str,
        run_type: str | None = None,
        commit_sha: str | None = None,
    ) -> Run:
        run_type = run_type or "TRACKED"
        with self.lock:
            stack = self._require_stack(stack_id)
            if run_type not in ("TRACKED", "PROPOSED", "DESTROY"):
                raise SimError(f"run type {run_type} cannot be triggered")
            self._check_can_start(stack, user)
            now = int(self.clock())
            if commit_sha:
                commit = Commit(
                    hash=commit_sha,
                    message=f"Run on commit {commit_sha[:7]}",
                    author_name=user,
                    author_login=user,
                    timestamp=now,
                    url=f"{stack.repository_url}/commit/{commit_sha}",
                )
            elif stack.tracked_commit is not None:
                commit = stack.tracked_commit
            else:
                commit = generate._commit(self._rng, stack, now)
            return self._new_run(stack, run_type, commit, user, now)

    def create_task(
        self, stack_id: str, user: str, command: str, skip_initialization: bool = False
    ) -> Run:
        with self.lock:
            stack = self._require_stack(stack_id)
            self._check_can_start(stack, user)
            now = int(self.clock())
            commit = stack.tracked_commit or generate._commit(self._rng, stack, now)
            return self._new_run(stack, "TASK", commit, user, now, command, skip_initialization)

    def _transition(
        self,
        stack_id: str,
        run_id: str | None,
        action: str,
        allowed: tuple[str, ...],
        target: str,
        user: str,
        note: str | None,
    ) -> Run:
        with self.lock:
            stack = self._require_stack(stack_id)
            needs = "/".join(allowed)
            run = self._require_run(stack, run_id, action, needs)
            if run.state not in allowed:
                raise SimError(f"run is in state {run.state}; {action} needs {needs}")
            self._move(stack, run, target, int(self.clock()), note, user)
            return run

    def confirm_run(self, stack_id: str, run_id: str | None, user: str, note: str | None = None):
        return self._transition(
            stack_id, run_id, "runConfirm", ("UNCONFIRMED",), "CONFIRMED", user, note
        )

    def discard_run(self, stack_id: str, run_id: str | None, user: str, note: str | None = None):
        return self._transition(
            stack_id,
            run_id,
            "runDiscard",
            ("UNCONFIRMED", "QUEUED", "READY"),
            "DISCARDED",
            user,
            note,
        )

    def cancel_run(self, stack_id: str, run_id: str, user: str, note: str | None = None):
        return self._transition(
            stack_id, run_id, "runCancel", ("QUEUED", "READY"), "CANCELED", user, note
        )

    def stop_run(self, stack_id: str, run_id: str, user: str, note: str | None = None):
        return self._transition(
            stack_id, run_id, "runStop", ("INITIALIZING", "PLANNING"), "STOPPED", user, note
        )

    def retry_run(self, stack_id: str, run_id: str, user: str) -> Run:
        with self.lock:
            stack = self._require_stack(stack_id)
            run = self._require_run(stack, run_id, "runRetry", "a finished run")
            if run.state not in TERMINAL_RUN_STATES:
                raise SimError(f"run is in state {run.state}; runRetry needs a finished run")
            if not run.can_retry:
                raise SimError(f"{run.type} runs cannot be retried")
            self._check_can_start(stack, user)
            return self._new_run(stack, run.type, run.commit, user, int(self.clock()))

    # -- stacks: mutations --------------------------------------------------------------------

    def lock_stack(self, stack_id: str, user: str, note: str | None = None) -> Stack:
        with self.lock:
            stack = self._require_stack(stack_id)
            if stack.locked_by is not None and stack.locked_by != user:
                raise SimError(f"stack {stack.id} is already locked by {stack.locked_by}")
            stack.locked_by, stack.locked_at, stack.lock_note = user, int(self.clock()), note
            return stack

    def unlock_stack(self, stack_id: str, user: str) -> Stack:
        # The simulator's API key is an admin key, so it may lift anyone's lock.
        with self.lock:
            stack = self._require_stack(stack_id)
            if stack.locked_by is None:
                raise SimError(f"stack {stack.id} is not locked")
            stack.locked_by = stack.locked_at = stack.lock_note = None
            return stack

    def set_disabled(self, stack_id: str, disabled: bool) -> Stack:
        with self.lock:
            stack = self._require_stack(stack_id)
            stack.is_disabled = disabled
            return stack

    # -- test hooks ---------------------------------------------------------------------------

    def script_outcomes(self, stack_id: str, outcomes: list[str]) -> None:
        """Force what the next runs created on the stack will do (e.g. ["plan_failed"])."""
        for outcome in outcomes:
            if outcome not in OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
        with self.lock:
            self._require_stack(stack_id)
            self._scripted[stack_id] = list(outcomes)

    _UPSERT_FIELDS = {
        "name": str, "description": (str, type(None)), "state": str, "stateSetAt": (int, type(None)),
        "branch": str, "repository": str, "namespace": str, "provider": str,
        "projectRoot": (str, type(None)), "labels": list, "space": str, "administrative": bool,
        "autodeploy": bool, "autoretry": bool, "isDisabled": bool, "lockedBy": (str, type(None)),
        "lockNote": (str, type(None)), "starred": bool, "entityCount": (int, type(None)),
        "runnerImage": (str, type(None)), "workerPool": (str, type(None)), "vendor": str,
        "nextOutcomes": list,
    }  # fmt: skip

    def upsert_stack(self, fields: dict | None = None, **more: object) -> Stack:
        """Create or update a stack from GraphQL-named fields; `id` is required.

        `state` may be any upper-case name, including values StackState does not list (the
        simulator passes them through, like a newer server would). `vendor` is one of
        terraform/opentofu/pulumi; `nextOutcomes` scripts the outcomes of the next runs.
        """
        data = {**(fields or {}), **more}
        stack_id = data.pop("id", None)
        if not isinstance(stack_id, str) or not stack_id:
            raise ValueError("id (a non-empty string) is required")
        for key, value in data.items():
            expected = self._UPSERT_FIELDS.get(key)
            if expected is None:
                raise ValueError(f"unknown field {key!r}")
            allowed = expected if isinstance(expected, tuple) else (expected,)
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                raise ValueError(f"field {key!r} has the wrong type")
        if "state" in data and not STATE_NAME.match(data["state"]):
            raise ValueError("state must be an upper-case name such as FINISHED")
        if "labels" in data and not all(isinstance(x, str) for x in data["labels"]):
            raise ValueError("labels must be strings")
        with self.lock:
            if "space" in data and data["space"] not in self.spaces:
                raise ValueError(f"unknown space {data['space']!r}")
            if data.get("workerPool") is not None and data["workerPool"] not in self.worker_pools:
                raise ValueError(f"unknown worker pool {data['workerPool']!r}")
            now = int(self.clock())
            stack = self.stacks.get(stack_id)
            if stack is None:
                stack = self._blank_stack(stack_id, now)
                self.stacks[stack_id] = stack
                self._by_index[stack.index] = stack
            for key, value in data.items():
                self._apply(stack, key, value, now)
            stack.refresh_search_text()
            self._sorted_cache.clear()
            return stack

    def _blank_stack(self, stack_id: str, now: int) -> Stack:
        index = self._next_index
        self._next_index += 1
        return Stack(
            index=index, id=stack_id, name=stack_id, description=None, state="NONE",
            state_set_at=None, branch="main", repository="infra", namespace="acme-corp",
            provider="GITHUB", project_root=None, labels=[], space="root", administrative=False,
            autodeploy=False, autoretry=False, is_disabled=False, locked_by=None, locked_at=None,
            lock_note=None, created_at=now, vendor=_vendor("terraform"), worker_pool=None,
            runner_image=None, manages_state_file=True, starred=False, entity_count=0,
            tracked_commit=None, tracked_commit_set_by=None, terraform_version="1.5.7", runs=[],
        )  # fmt: skip

    def _apply(self, stack: Stack, key: str, value, now: int) -> None:
        if key == "state":
            stack.state, stack.state_set_at, stack.state_run_id = value, now, None
        elif key == "vendor":
            stack.vendor = _vendor(value)
        elif key == "lockedBy":
            stack.locked_by = value
            stack.locked_at = now if value is not None else None
        elif key == "nextOutcomes":
            self.script_outcomes(stack.id, value)
        else:
            attribute = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
            setattr(stack, attribute, value)

    # -- auth, counters and faults ------------------------------------------------------------

    def exchange_key(self, key_id: str, secret: str, audience: str) -> tuple[str, int] | None:
        with self.lock:
            result = self.tokens.exchange(key_id, secret, audience)
            if result is not None:
                self.stats.tokens_issued += 1
            return result

    def viewer_for(self, token: str) -> dict | None:
        with self.lock:
            return self.tokens.verify(token)

    def set_faults(self, mode: str, latency_ms: int = 0, probability: float = 1.0) -> dict:
        """Set the fault mode; `revoke_tokens` acts at once and leaves the mode at "none"."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; use one of {', '.join(FAULT_MODES)}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        with self.lock:
            revoked = 0
            if mode == "revoke_tokens":
                revoked = self.tokens.revoke_all()
                mode = "none"
            self.faults = Faults(mode, latency_ms, probability)
            return {**self.faults.as_dict(), "revoked": revoked}

    def draw_fault(self) -> Faults | None:
        """The fault to apply to this request, if one fires."""
        with self.lock:
            faults = self.faults
            if faults.mode == "none":
                return None
            if faults.probability < 1.0 and self._fault_rng.random() >= faults.probability:
                return None
            return faults


def _vendor(kind: str) -> VendorConfig:
    if kind in ("terraform", "opentofu"):
        return VendorConfig(
            "StackConfigVendorTerraform" if kind == "terraform" else "StackConfigVendorOpenTofu",
            {
                "version": "1.5.7" if kind == "terraform" else "1.8.5",
                "workspace": None,
                "useSmartSanitization": False,
                "externalStateAccessEnabled": False,
                "workflowTool": "TERRAFORM_FOSS" if kind == "terraform" else "OPEN_TOFU",
            },
        )
    if kind == "pulumi":
        return VendorConfig(
            "StackConfigVendorPulumi", {"loginURL": "s3://acme-pulumi-state", "stackName": "dev"}
        )
    raise ValueError(f"unknown vendor {kind!r}; use terraform, opentofu or pulumi")


def _encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError("invalid cursor") from exc
    if not isinstance(key, list) or len(key) != 3:
        raise SimError("invalid cursor")
    return tuple(key)
