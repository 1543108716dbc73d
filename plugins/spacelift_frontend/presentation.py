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
TAB_COUNT = {"attention": "needsAttention", "failed": "failed", "progress": "inProgress",
             "finished": "finished"}  # fmt: skip

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
