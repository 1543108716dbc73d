"""Filtering, sorting, paging and counting the stack list, and the summary's run statistics.

All of it runs in our backend over the cached full list, so every filter combination of every
viewer costs the same single upstream query per cache window.
"""

from __future__ import annotations

import statistics
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spacelift_backend.model import CATEGORIES, category, empty_counts

# sort parameter -> (field, descending); a leading "-" means descending.
SORT_FIELDS = ("name", "id", "state", "stateSetAt", "space")
SORTS = tuple(s for f in SORT_FIELDS for s in (f, "-" + f))
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# How many recent tracked runs the summary's success rate and median duration look at.
RECENT_RUNS = 100


@dataclass(frozen=True)
class StackFilter:
    """What the /stacks query string asks for (already validated)."""

    states: frozenset[str] = frozenset()  # state names and category names
    labels: tuple[str, ...] = ()
    space: str | None = None
    q: str | None = None
    locked: bool | None = None
    sort: str = "name"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    words: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple((self.q or "").lower().split()))

    def matches_state(self, stack: Mapping[str, Any]) -> bool:
        if not self.states:
            return True
        return stack.get("state") in self.states or stack.get("stateCategory") in self.states

    def matches_rest(self, stack: Mapping[str, Any]) -> bool:
        """Everything but the state: the counts are facets over this set."""
        labels = stack.get("labels") or []
        if any(label not in labels for label in self.labels):
            return False
        if self.locked is not None and bool(stack.get("lockedBy")) is not self.locked:
            return False
        if self.space:
            space = stack.get("spaceDetails") or {}
            wanted = self.space.lower()
            if wanted not in (str(space.get("id", "")).lower(), str(space.get("name", "")).lower()):
                return False
        if self.words:
            text = _search_text(stack)
            if not all(word in text for word in self.words):
                return False
        return True


def _search_text(stack: Mapping[str, Any]) -> str:
    parts = [stack.get("id"), stack.get("name"), stack.get("description"), stack.get("repository"),
             stack.get("branch"), *(stack.get("labels") or [])]  # fmt: skip
    return " ".join(str(p) for p in parts if p).lower()


def _sort_key(name: str):
    def key(stack: Mapping[str, Any]) -> tuple:
        if name == "space":
            value: Any = str((stack.get("spaceDetails") or {}).get("name") or "").lower()
        elif name == "stateSetAt":
            value = stack.get("stateSetAt")
        else:
            value = str(stack.get(name) or "").lower()
        # Missing values sort last in either direction; the id breaks ties.
        return (value is None, value if value is not None else 0, stack.get("id") or "")

    return key


def sort_stacks(stacks: Iterable[Mapping[str, Any]], sort: str) -> list[Mapping[str, Any]]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    key = _sort_key(name)
    items = list(stacks)
    present = [s for s in items if not key(s)[0]]
    missing = [s for s in items if key(s)[0]]
    present.sort(key=key, reverse=descending)
    missing.sort(key=lambda s: s.get("id") or "")
    return present + missing


def counts_of(stacks: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = empty_counts()
    for stack in stacks:
        counts[category(stack.get("state"))] += 1
    return counts


def select(stacks: Sequence[Mapping[str, Any]], f: StackFilter) -> dict[str, Any]:
    """The page of stacks `f` asks for, with the total and the category counts."""
    rest = [s for s in stacks if f.matches_rest(s)]
    chosen = [s for s in rest if f.matches_state(s)]
    ordered = sort_stacks(chosen, f.sort)
    start = (f.page - 1) * f.per_page
    return {
        "items": ordered[start : start + f.per_page],
        "total": len(ordered),
        "page": f.page,
        "perPage": f.per_page,
        "counts": counts_of(rest),
    }


class Selections:
    """`select` for the stack list in effect, each filter worked out once.

    Every poller of the same view asks for the same page: while the list is the same object
    (the response cache's decoded copy, until the next fetch), the filter, sort and counts of
    each StackFilter are reused. A new list starts afresh. Results are shared: never change one.
    """

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._stacks: Sequence[Mapping[str, Any]] | None = None
        self._results: OrderedDict[StackFilter, dict[str, Any]] = OrderedDict()
        self._guard = threading.Lock()

    def select(self, stacks: Sequence[Mapping[str, Any]], f: StackFilter) -> dict[str, Any]:
        with self._guard:
            if stacks is self._stacks and f in self._results:
                self._results.move_to_end(f)
                return self._results[f]
        result = select(stacks, f)
        with self._guard:
            if stacks is not self._stacks:
                self._stacks = stacks
                self._results.clear()
            self._results[f] = result
            while len(self._results) > self.limit:
                self._results.popitem(last=False)
        return result


def needs_attention(stacks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stacks a person should look at: unconfirmed (or in review), failed, or locked."""
    out = []
    for stack in stacks:
        reasons = []
        cat = stack.get("stateCategory")
        if cat == "needsAttention":
            reasons.append("unconfirmed" if stack.get("state") == "UNCONFIRMED" else "review")
        if cat == "failed":
            reasons.append("failed")
        if stack.get("lockedBy"):
            reasons.append("locked")
        if reasons:
            out.append(
                {
                    "id": stack.get("id"),
                    "name": stack.get("name"),
                    "state": stack.get("state"),
                    "stateCategory": cat,
                    "stateSetAt": stack.get("stateSetAt"),
                    "lockedBy": stack.get("lockedBy"),
                    "reasons": reasons,
                    "url": stack.get("url"),
                }
            )
    rank = {"unconfirmed": 0, "review": 0, "failed": 1, "locked": 2}
    out.sort(key=lambda s: (min(rank[r] for r in s["reasons"]), -(s["stateSetAt"] or 0), s["id"]))
    return out


def run_statistics(runs: Iterable[Mapping[str, Any]], limit: int = RECENT_RUNS) -> dict[str, Any]:
    """Success rate and median duration of the most recent finished tracked runs.

    Only FINISHED (success) and FAILED (failure) runs count: DISCARDED, STOPPED, CANCELED and
    SKIPPED are decisions, not outcomes, and their duration includes waiting for a person.
    """
    done = [
        r for r in runs
        if r.get("type") == "TRACKED" and r.get("state") in ("FINISHED", "FAILED")
        and isinstance(r.get("createdAt"), int)
    ]  # fmt: skip
    done.sort(key=lambda r: r["createdAt"], reverse=True)
    recent = done[:limit]
    succeeded = sum(1 for r in recent if r["state"] == "FINISHED")
    durations = [
        r["updatedAt"] - r["createdAt"]
        for r in recent
        if isinstance(r.get("updatedAt"), int) and r["updatedAt"] >= r["createdAt"]
    ]
    return {
        "considered": len(recent),
        "succeeded": succeeded,
        "failed": len(recent) - succeeded,
        "successRate": round(succeeded / len(recent), 4) if recent else None,
        "medianDuration": statistics.median(durations) if durations else None,
        "since": recent[-1]["createdAt"] if recent else None,
    }


def is_category(name: str) -> bool:
    return name in CATEGORIES
