"""The simulator's data model: stacks, runs, spaces, and the run state machine of section 9.3."""

from __future__ import annotations

from dataclasses import dataclass, field

STACK_STATES = (
    "NONE", "INITIALIZING", "PLANNING", "FAILED", "FINISHED", "UNCONFIRMED", "DISCARDED",
    "CONFIRMED", "APPLYING", "STOPPED", "DESTROYING", "PREPARING", "PREPARING_APPLY",
    "REPLAN_REQUESTED", "PREPARING_REPLAN", "READY",
)  # fmt: skip

RUN_STATES = (
    "UNKNOWN", "QUEUED", "CANCELED", "INITIALIZING", "PLANNING", "FAILED", "FINISHED",
    "UNCONFIRMED", "DISCARDED", "CONFIRMED", "APPLYING", "PERFORMING", "STOPPED", "DESTROYING",
    "PREPARING", "PREPARING_APPLY", "SKIPPED", "REPLAN_REQUESTED", "PENDING", "PREPARING_REPLAN",
    "READY", "PENDING_REVIEW",
)  # fmt: skip

TERMINAL_RUN_STATES = frozenset(
    {"CANCELED", "FAILED", "FINISHED", "DISCARDED", "STOPPED", "SKIPPED"}
)
# States whose phase writes logs (RunStateTransition.hasLogs).
STATES_WITH_LOGS = frozenset(
    {"PREPARING", "INITIALIZING", "PLANNING", "APPLYING", "PERFORMING", "DESTROYING",
     "PREPARING_APPLY", "PREPARING_REPLAN", "FAILED"}
)  # fmt: skip
# Runs of these types take the stack lock: one at a time per stack, the others stay QUEUED.
BLOCKING_RUN_TYPES = frozenset({"TRACKED", "DESTROY", "TASK"})
# Runs of these types drive the stack's state.
STATE_RUN_TYPES = frozenset({"TRACKED", "DESTROY"})
# Terminal run states that leave the stack state as it was (they are not StackState values).
STATE_NEUTRAL = frozenset({"QUEUED", "CANCELED", "SKIPPED"})

# What a run will do when it gets the chance. Chosen when the run is created (seeded).
OUTCOMES = ("changes", "noop", "init_failed", "plan_failed", "apply_failed")


class SimError(Exception):
    """An expected, client-facing error: its message goes into the GraphQL `errors` array."""


@dataclass(slots=True)
class Space:
    id: str
    name: str
    description: str
    parent_space: str | None
    inherit_entities: bool
    labels: list[str]


@dataclass(slots=True)
class WorkerPool:
    id: str
    name: str
    description: str | None


@dataclass(slots=True)
class Commit:
    hash: str
    message: str
    author_name: str
    author_login: str | None
    timestamp: int
    url: str
    tag: str | None = None


@dataclass(slots=True)
class Delta:
    add_count: int
    change_count: int
    delete_count: int
    resources: int


@dataclass(slots=True)
class Transition:
    state: str
    timestamp: int
    terminal: bool
    has_logs: bool
    state_version: int = 1
    note: str | None = None
    username: str | None = None


@dataclass(slots=True)
class RunComment:
    body: str
    created_at: int
    username: str


@dataclass(slots=True)
class VendorConfig:
    """One member of the StackConfigVendor union; `typename` picks the GraphQL type."""

    typename: str
    fields: dict[str, object]


@dataclass(slots=True)
class Run:
    id: str
    stack_id: str
    type: str
    state: str
    title: str
    branch: str
    commit: Commit
    created_at: int
    updated_at: int
    triggered_by: str | None
    outcome: str
    delta: Delta | None = None
    drift_detection: bool = False
    command: str | None = None
    skip_initialization: bool = False
    comments: list[RunComment] = field(default_factory=list)
    history: list[Transition] = field(default_factory=list)  # newest first

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_RUN_STATES

    @property
    def can_confirm(self) -> bool:
        return self.state == "UNCONFIRMED"

    @property
    def can_retry(self) -> bool:
        return self.state in TERMINAL_RUN_STATES and self.type in ("TRACKED", "PROPOSED")

    def record(
        self, state: str, timestamp: int, note: str | None = None, username: str | None = None
    ) -> None:
        """Move to `state`, prepending its transition to the history (newest first)."""
        timestamp = max(timestamp, self.updated_at)
        version = 1
        for earlier in self.history:
            if earlier.state == state:
                version += 1
        self.history.insert(
            0,
            Transition(
                state=state,
                timestamp=timestamp,
                terminal=state in TERMINAL_RUN_STATES,
                has_logs=state in STATES_WITH_LOGS,
                state_version=version,
                note=note,
                username=username,
            ),
        )
        self.state = state
        self.updated_at = timestamp


@dataclass(slots=True)
class Stack:
    index: int  # position in the seeded world; seeds the lazily built run history
    id: str
    name: str
    description: str | None
    state: str
    state_set_at: int | None
    branch: str
    repository: str
    namespace: str
    provider: str
    project_root: str | None
    labels: list[str]
    space: str
    administrative: bool
    autodeploy: bool
    autoretry: bool
    is_disabled: bool
    locked_by: str | None
    locked_at: int | None
    lock_note: str | None
    created_at: int
    vendor: VendorConfig
    worker_pool: str | None
    runner_image: str | None
    manages_state_file: bool
    starred: bool
    entity_count: int | None
    tracked_commit: Commit | None
    tracked_commit_set_by: str | None
    terraform_version: str | None
    # Run bookkeeping. `runs` is None until the history is built (lazily, see World._runs_of).
    runs: list[Run] | None = None  # oldest first, so ids ascend
    run_ids: dict[str, Run] = field(default_factory=dict)
    state_run_id: str | None = None  # the run that last set the stack state (isMostRecent)
    plan: dict[str, object] | None = None  # seeded recipe for the lazy history
    search_text: str = ""

    @property
    def repository_url(self) -> str:
        host = "gitlab.com" if self.provider == "GITLAB" else "github.com"
        return f"https://{host}/{self.namespace}/{self.repository}"

    @property
    def api_host(self) -> str:
        return "gitlab.com" if self.provider == "GITLAB" else "github.com"

    def refresh_search_text(self) -> None:
        parts = [self.id, self.name, self.description or "", *self.labels]
        self.search_text = "\n".join(parts).lower()


def next_state(run: Run, autodeploy: bool) -> str | None:
    """The state `run` moves to on the next tick, or None if it waits (a gate or terminal).

    QUEUED is not handled here: leaving the queue is the scheduler's job (one blocker per stack).
    """
    state, outcome = run.state, run.outcome
    if state in TERMINAL_RUN_STATES or state in ("QUEUED", "UNCONFIRMED", "UNKNOWN"):
        return None
    if state == "READY":
        return "PREPARING"
    if state == "PREPARING":
        if run.type == "TASK" and run.skip_initialization:
            return "PERFORMING"
        return "INITIALIZING"
    if state == "INITIALIZING":
        if outcome == "init_failed":
            return "FAILED"
        return {"TASK": "PERFORMING", "DESTROY": "DESTROYING"}.get(run.type, "PLANNING")
    if state == "PLANNING":
        if outcome == "plan_failed":
            return "FAILED"
        if run.type == "PROPOSED" or outcome == "noop":
            return "FINISHED"
        return "APPLYING" if autodeploy else "UNCONFIRMED"
    if state == "CONFIRMED":
        return "PREPARING_APPLY"
    if state == "PREPARING_APPLY":
        return "APPLYING"
    if state in ("APPLYING", "PERFORMING", "DESTROYING"):
        return "FAILED" if outcome in ("apply_failed", "plan_failed", "init_failed") else "FINISHED"
    if state == "REPLAN_REQUESTED":
        return "PREPARING_REPLAN"
    if state == "PREPARING_REPLAN":
        return "PLANNING"
    if state in ("PENDING", "PENDING_REVIEW"):
        return "FINISHED"
    return None


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> 2 characters


def decode_base32(text: str) -> int | None:
    value = 0
    for char in text:
        digit = _CROCKFORD.find(char)
        if digit < 0:
            return None
        value = value * 32 + digit
    return value


def make_ulid(time_ms: int, stack_index: int, randomness: int) -> str:
    """A 26-character ULID: 48-bit time, then 80 bits of which the first 20 name the stack.

    Embedding the stack's index lets `runStack(runId)` find a run without an index of every run.
    """
    value = (
        (time_ms & ((1 << 48) - 1)) << 80
        | (stack_index & ((1 << 20) - 1)) << 60
        | randomness & ((1 << 60) - 1)
    )
    return "".join(_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10))


def ulid_stack_index(run_id: str) -> int | None:
    if len(run_id) != 26:
        return None
    return decode_base32(run_id[10:14])
