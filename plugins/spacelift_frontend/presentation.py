"""How states look: chip colours, tabs, filters in the URL, and small text helpers.

The stack chip uses the official Backstage plugin's colours; an unknown state is neutral.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# The official plugin's palette (its section 4.5): success, info, warning, danger, neutral.
STACK_CHIP: dict[str, str] = {
    "FINISHED": "ok",
    **dict.fromkeys(
        ("APPLYING", "DESTROYING", "INITIALIZING", "PLANNING", "PREPARING", "PREPARING_APPLY",
         "PREPARING_REPLAN", "READY"),
        "info",
    ),
    **dict.fromkeys(("CONFIRMED", "UNCONFIRMED"), "warn"),
    **dict.fromkeys(("DISCARDED", "FAILED", "STOPPED"), "danger"),
    **dict.fromkeys(("NONE", "REPLAN_REQUESTED"), "neutral"),
}  # fmt: skip

# Runs have a few states stacks never show; they follow the same palette.
RUN_CHIP: dict[str, str] = {
    **STACK_CHIP,
    "QUEUED": "info",
    "PERFORMING": "info",
    "PENDING_REVIEW": "warn",
    "CANCELED": "neutral",
    "SKIPPED": "neutral",
}

# The states the official plugin offers "Trigger run" in: nothing is running or waiting.
TRIGGERABLE = frozenset({"DISCARDED", "FAILED", "STOPPED", "FINISHED", "NONE"})

CATEGORY_LABELS = {
    "needsAttention": "Needs attention",
    "failed": "Failed",
    "inProgress": "In progress",
    "finished": "Finished",
    "other": "Other",
}


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    params: Mapping[str, str]  # what the tab asks the backend for


TABS = (
    Tab("all", "All", {}),
    Tab("attention", "Needs attention", {"state": "needsAttention"}),
    Tab("failed", "Failed", {"state": "failed"}),
    Tab("progress", "In progress", {"state": "inProgress"}),
    Tab("finished", "Finished", {"state": "finished"}),
    Tab("locked", "Locked", {"locked": "true"}),
)
TAB_BY_KEY = {t.key: t for t in TABS}

SORTS = (("name", "Name"), ("state", "State"), ("-stateSetAt", "Last change"))
PER_PAGE = 20
DESCRIPTION_CUT = 50


@dataclass(frozen=True)
class Filters:
    """The overview's filters, as they live in the page's URL query."""

    tab: str = "all"
    q: str = ""
    label: str = ""
    space: str = ""
    sort: str = "name"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        tab = args.get("tab", "all")
        sort = args.get("sort", "name")
        try:
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            tab=tab if tab in TAB_BY_KEY else "all",
            q=args.get("q", "").strip()[:200],
            label=args.get("label", "").strip()[:200],
            space=args.get("space", "").strip()[:200],
            sort=sort if sort in dict(SORTS) else "name",
            page=page,
        )

    def backend_params(self) -> dict[str, Any]:
        params: dict[str, Any] = dict(TAB_BY_KEY[self.tab].params)
        params.update(q=self.q, label=self.label, space=self.space, sort=self.sort,
                      page=self.page, perPage=PER_PAGE)  # fmt: skip
        return {k: v for k, v in params.items() if v not in ("", None)}

    def query(self, **changes: Any) -> str:
        """This view's URL query with `changes`; defaults are left out so URLs stay short."""
        values = {"tab": self.tab, "q": self.q, "label": self.label, "space": self.space,
                  "sort": self.sort, "page": self.page, **changes}  # fmt: skip
        defaults = {"tab": "all", "sort": "name", "page": 1}
        kept = {k: v for k, v in values.items() if v not in ("", None) and defaults.get(k) != v}
        return urlencode(kept)


def short_hash(value: Any) -> str:
    return str(value)[:7] if value else ""


def cut(text: Any, limit: int = DESCRIPTION_CUT) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def delta_text(delta: Any) -> str:
    if not isinstance(delta, Mapping):
        return "—"
    return f"+{delta.get('addCount') or 0} ~{delta.get('changeCount') or 0} -{delta.get('deleteCount') or 0}"


def timeline(history: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """State transitions oldest first, each with how long its phase lasted.

    The current phase of a moving run has no length yet ("ongoing"): a length that grows every
    second would change the fragment on every poll and defeat the 304s.
    """
    ordered = sorted(
        (h for h in history if isinstance(h.get("timestamp"), int)),
        key=lambda h: (h["timestamp"], h.get("stateVersion") or 0),
    )
    out = []
    for i, item in enumerate(ordered):
        nxt = ordered[i + 1]["timestamp"] if i + 1 < len(ordered) else None
        if nxt is not None:
            length, ongoing = nxt - item["timestamp"], False
        elif item.get("terminal"):
            length, ongoing = None, False
        else:
            length, ongoing = None, True
        out.append({**item, "duration": length, "ongoing": ongoing})
    return out


# -- run actions -------------------------------------------------------------------------------

ACTION_LABELS = {"confirm": "Confirm", "discard": "Discard", "cancel": "Cancel run", "retry": "Retry"}
# Accessible names of the buttons: "<name> <run id>", unique in a table of runs.
ACTION_NAMES = {"confirm": "Confirm run", "discard": "Discard run", "cancel": "Cancel run",
                "retry": "Retry run"}  # fmt: skip
ACTION_TITLES = {
    "confirm": "Confirm this run?",
    "discard": "Discard this run?",
    "cancel": "Cancel this run?",
    "retry": "Retry this run?",
}
# After the no-JavaScript form: the notice on the run page.
ACTION_DONE = {
    "confirm": "Run confirmed: Spacelift applies its plan now.",
    "discard": "Run discarded: nothing was applied.",
    "cancel": "Run canceled before it started.",
    "retry": "A new run started: this is the retry.",
}


def action_text(action: str, run: Mapping[str, Any], stack_name: str) -> str:
    """What will happen, in the confirmation dialog and on the no-JavaScript page."""
    run_id = run.get("id")
    if action == "confirm":
        return (f"Spacelift applies the planned changes of run {run_id} to the stack {stack_name}: "
                "the infrastructure changes as planned.")  # fmt: skip
    if action == "discard":
        if run.get("state") == "UNCONFIRMED":
            return (f"The plan of run {run_id} is thrown away and nothing is applied to "
                    f"{stack_name}. The next run on the stack can start.")  # fmt: skip
        return f"Run {run_id} leaves the queue of {stack_name} without running (DISCARDED)."
    if action == "cancel":
        return f"Run {run_id} is removed from the queue of {stack_name} before it starts (CANCELED)."
    commit = run.get("commit") or {}
    on = f" on commit {short_hash(commit.get('hash'))}" if commit.get("hash") else ""
    return (f"A new {str(run.get('type') or 'tracked').lower()} run of the stack {stack_name} "
            f"starts{on}, like run {run_id}; this run stays as it is.")  # fmt: skip


def commit_text(run: Mapping[str, Any]) -> str:
    commit = run.get("commit") or {}
    if not commit.get("hash"):
        return ""
    message = cut(commit.get("message"), 80)
    return f"{short_hash(commit.get('hash'))} {message}".strip()


def not_offered(action: str, run: Mapping[str, Any]) -> str:
    """Why the no-JavaScript page offers no button."""
    return (f"You cannot {action} this run now: it is {run.get('state')}, or you are not allowed "
            "to, or the plugin is read-only.")  # fmt: skip


# -- the audit trail ---------------------------------------------------------------------------

AUDIT_ACTIONS = ("trigger", "confirm", "discard", "cancel", "retry",
                 "settings.update", "settings.revert", "settings.test")  # fmt: skip
AUDIT_RESULTS = ("ok", "denied", "conflict", "pending")
AUDIT_PER_PAGE = 50


@dataclass(frozen=True)
class AuditFilters:
    """The audit page's filters, as they live in its URL query."""

    user: str = ""
    action: str = ""
    stack: str = ""
    result: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilters:
        action = args.get("action", "")
        try:
            page = max(1, min(100_000, int(args.get("page", "1"))))
        except ValueError:
            page = 1
        return cls(
            user=args.get("user", "").strip()[:200],
            action=action if action in AUDIT_ACTIONS else "",
            stack=args.get("stack", "").strip()[:200],
            result=args.get("result", "").strip()[:200],
            page=page,
        )

    def backend_params(self) -> dict[str, Any]:
        params = {"user": self.user, "action": self.action, "stack": self.stack,
                  "result": self.result, "page": self.page, "perPage": AUDIT_PER_PAGE}  # fmt: skip
        return {k: v for k, v in params.items() if v not in ("", None)}

    def query(self, **changes: Any) -> str:
        values = {"user": self.user, "action": self.action, "stack": self.stack,
                  "result": self.result, "page": self.page, **changes}  # fmt: skip
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})
