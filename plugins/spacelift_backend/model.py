"""Spacelift stacks and runs turned into the JSON shapes of our API, and their state categories.

Spacelift's own timestamps keep Spacelift's unit (Unix seconds) and name. A state this code does
not know is passed through unchanged and counted as "other": a newer Spacelift must never break
the list (the official plugin fails the whole page on one unknown state).

State categories follow the tabs of Spacelift's stack list:

- needsAttention: a run waits for a person: UNCONFIRMED (plan to confirm or discard) and
  PENDING_REVIEW (an approval policy asks for a review).
- failed: FAILED, the only failure state Spacelift has (it has no ERRORED).
- inProgress: a run is moving: QUEUED, READY, PREPARING, INITIALIZING, PLANNING, APPLYING,
  PERFORMING, DESTROYING, PREPARING_APPLY, PREPARING_REPLAN.
- finished: the last run ended and nothing waits: FINISHED, DISCARDED, STOPPED, CANCELED, SKIPPED.
- other: NONE (never ran), CONFIRMED and REPLAN_REQUESTED (Spacelift's "on hold"), and any state
  not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

CATEGORIES = ("needsAttention", "failed", "inProgress", "finished", "other")

_CATEGORY_OF: dict[str, str] = {
    **dict.fromkeys(("UNCONFIRMED", "PENDING_REVIEW"), "needsAttention"),
    "FAILED": "failed",
    **dict.fromkeys(
        ("QUEUED", "READY", "PREPARING", "INITIALIZING", "PLANNING", "APPLYING", "PERFORMING",
         "DESTROYING", "PREPARING_APPLY", "PREPARING_REPLAN"),
        "inProgress",
    ),
    **dict.fromkeys(("FINISHED", "DISCARDED", "STOPPED", "CANCELED", "SKIPPED"), "finished"),
    **dict.fromkeys(("NONE", "CONFIRMED", "REPLAN_REQUESTED"), "other"),
}  # fmt: skip

# States the official plugin offers "Trigger run" in (a run can start without stepping on one).
TRIGGERABLE_STATES = frozenset({"DISCARDED", "FAILED", "STOPPED", "FINISHED", "NONE"})
TERMINAL_RUN_STATES = frozenset({"CANCELED", "FAILED", "FINISHED", "DISCARDED", "STOPPED", "SKIPPED"})

# The run actions, in the order buttons show, and the states Spacelift takes each from (API
# notes 9.3). Retry starts a new run of a finished one: Spacelift's `canRetry` is true for
# finished tracked and proposed runs (the simulator's rule too), so those are the ones we offer.
RUN_ACTIONS = ("confirm", "discard", "cancel", "retry")
ACTION_STATES: dict[str, frozenset[str]] = {
    "confirm": frozenset({"UNCONFIRMED"}),
    "discard": frozenset({"UNCONFIRMED", "QUEUED", "READY"}),
    "cancel": frozenset({"QUEUED", "READY"}),
    "retry": TERMINAL_RUN_STATES,
}
RETRYABLE_TYPES = frozenset({"TRACKED", "PROPOSED"})


def action_allowed(action: str, state: Any, run_type: Any, can_retry: bool | None = None) -> bool:
    """Whether the run's state lets `action` through. `can_retry` is Spacelift's own answer
    when we have it (the run detail); the list falls back to the documented rule."""
    if state not in ACTION_STATES[action]:
        return False
    if action == "retry":
        return bool(can_retry) if can_retry is not None else run_type in RETRYABLE_TYPES
    return True


def state_conflict(action: str, run_id: str, state: Any, run_type: Any) -> str:
    """Why the run's state refuses `action`, naming the state: for the 409."""
    if action == "retry" and state in ACTION_STATES["retry"]:
        if run_type not in RETRYABLE_TYPES:
            return (f"run {run_id} is a {run_type} run; retry needs a finished tracked or "
                    "proposed run")  # fmt: skip
        return f"run {run_id} is {state}, and Spacelift does not offer to retry it (canRetry)"
    needs = sorted(ACTION_STATES[action])
    wanted = "a finished run (" + _either(needs) + ")" if action == "retry" else _either(needs)
    return f"run {run_id} is {state}; {action} needs {wanted}"


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC ("2026-01-31T12:00:00.000Z"): the times Greenroom adds."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def category(state: Any) -> str:
    """The category of a stack or run state; unknown states are "other"."""
    return _CATEGORY_OF.get(state, "other") if isinstance(state, str) else "other"


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(CATEGORIES, 0)


class Links:
    """Deep links into Spacelift's web UI (API notes, section 7): spaces by id."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")

    def stack(self, stack_id: str) -> str:
        return f"{self.base}/stack/{quote(stack_id, safe='')}"

    def run(self, stack_id: str, run_id: str) -> str:
        return f"{self.stack(stack_id)}/run/{quote(run_id, safe='')}"

    def space(self, space_id: str) -> str:
        return f"{self.base}/spaces/{quote(space_id, safe='')}"


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def commit(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {
        "hash": value.get("hash"),
        "message": value.get("message"),
        "authorName": value.get("authorName"),
        "authorLogin": value.get("authorLogin"),
        "timestamp": value.get("timestamp"),
        "url": value.get("url"),
    }


def vendor_name(vendor_config: Any) -> str | None:
    """"StackConfigVendorOpenTofu" -> "OpenTofu"; None when Spacelift sends none."""
    typename = _dict(vendor_config).get("__typename")
    if not isinstance(typename, str):
        return None
    return typename.removeprefix("StackConfigVendor") or typename


def stack_item(raw: Mapping[str, Any], links: Links) -> dict[str, Any]:
    """One stack of the list: the official plugin's fields under the same names, then ours."""
    stack_id = str(raw.get("id") or "")
    space = _dict(raw.get("spaceDetails"))
    space_id = str(space.get("id") or raw.get("space") or "")
    state = raw.get("state")
    return {
        "id": stack_id,
        "name": raw.get("name") or stack_id,
        "description": raw.get("description"),
        "labels": _str_list(raw.get("labels")),
        "state": state,
        "branch": raw.get("branch"),
        "spaceDetails": {"id": space_id, "name": space.get("name") or space_id},
        "stateCategory": category(state),
        "stateSetAt": raw.get("stateSetAt"),
        "repository": raw.get("repository"),
        "namespace": raw.get("namespace"),
        "provider": raw.get("provider"),
        "trackedCommit": _tracked(raw.get("trackedCommit")),
        "lockedBy": raw.get("lockedBy"),
        "isDisabled": bool(raw.get("isDisabled")),
        "vendor": vendor_name(raw.get("vendorConfig")),
        "url": links.stack(stack_id),
        "spaceUrl": links.space(space_id) if space_id else None,
    }


def _tracked(value: Any) -> dict[str, Any] | None:
    full = commit(value)
    if full is None:
        return None
    return {k: full[k] for k in ("hash", "message", "authorName", "timestamp", "url")}


def run_item(raw: Mapping[str, Any], stack_id: str, links: Links) -> dict[str, Any]:
    """One run: state, type, title, commit, times, duration, delta, who triggered it, link."""
    run_id = str(raw.get("id") or "")
    created, updated = raw.get("createdAt"), raw.get("updatedAt")
    finished = bool(raw.get("finished"))
    duration = None
    if finished and isinstance(created, int) and isinstance(updated, int) and updated >= created:
        duration = updated - created
    delta = raw.get("delta")
    return {
        "id": run_id,
        "type": raw.get("type"),
        "state": raw.get("state"),
        "stateCategory": category(raw.get("state")),
        "title": raw.get("title"),
        "branch": raw.get("branch"),
        "commit": commit(raw.get("commit")),
        "createdAt": created,
        "updatedAt": updated,
        "finished": finished,
        "duration": duration,
        "delta": (
            {k: _dict(delta).get(k) for k in ("addCount", "changeCount", "deleteCount", "resources")}
            if isinstance(delta, Mapping)
            else None
        ),
        "triggeredBy": raw.get("triggeredBy"),
        "isMostRecent": bool(raw.get("isMostRecent")),
        "driftDetection": bool(raw.get("driftDetection")),
        "url": links.run(stack_id, run_id),
    }


def run_detail(raw: Mapping[str, Any], stack_id: str, stack_name: str, links: Links) -> dict[str, Any]:
    """A run with its state history (newest first, as Spacelift sends it) and comments."""
    out = run_item(raw, stack_id, links)
    out.update(
        {
            "stackId": stack_id,
            "stackName": stack_name,
            "needsApproval": bool(raw.get("needsApproval")),
            "expired": bool(raw.get("expired")),
            "canRetry": bool(raw.get("canRetry")),
            "canConfirm": bool(raw.get("canConfirm")),
            "command": raw.get("command"),
            "history": [
                {
                    "state": h.get("state"),
                    "stateCategory": category(h.get("state")),
                    "timestamp": h.get("timestamp"),
                    "terminal": bool(h.get("terminal")),
                    "hasLogs": bool(h.get("hasLogs")),
                    "stateVersion": h.get("stateVersion"),
                    "note": h.get("note"),
                    "username": h.get("username"),
                }
                for h in raw.get("history") or []
                if isinstance(h, Mapping)
            ],
            "comments": [
                {"body": c.get("body"), "createdAt": c.get("createdAt"), "username": c.get("username")}
                for c in raw.get("comments") or []
                if isinstance(c, Mapping)
            ],
        }
    )
    return out


def stack_detail(raw: Mapping[str, Any], links: Links) -> dict[str, Any]:
    """Everything the stack page needs: the list fields, configuration, blocker, worker pool,
    the tracked commit and the last tracked run."""
    out = stack_item(raw, links)
    stack_id = out["id"]
    vendor_config = dict(_dict(raw.get("vendorConfig")))
    vendor_config.pop("__typename", None)
    pool = raw.get("workerPool")
    runs = [r for r in raw.get("runs") or [] if isinstance(r, Mapping)]
    blocker = raw.get("blocker")
    out.update(
        {
            "trackedCommit": commit(raw.get("trackedCommit")),
            "trackedCommitSetBy": raw.get("trackedCommitSetBy"),
            "createdAt": raw.get("createdAt"),
            "repositoryURL": raw.get("repositoryURL"),
            "projectRoot": raw.get("projectRoot"),
            "apiHost": raw.get("apiHost"),
            "configuration": {
                "administrative": bool(raw.get("administrative")),
                "autodeploy": bool(raw.get("autodeploy")),
                "autoretry": bool(raw.get("autoretry")),
                "managesStateFile": bool(raw.get("managesStateFile")),
                "runnerImage": raw.get("runnerImage"),
                "terraformVersion": raw.get("terraformVersion"),
                "vendor": out["vendor"],
                "vendorConfig": vendor_config,
            },
            "lockedAt": raw.get("lockedAt"),
            "lockNote": raw.get("lockNote"),
            "starred": bool(raw.get("starred")),
            "entityCount": raw.get("entityCount"),
            "blocked": bool(raw.get("blocked")),
            "blocker": run_item(blocker, stack_id, links) if isinstance(blocker, Mapping) else None,
            "workerPool": (
                {"id": pool.get("id"), "name": pool.get("name"), "public": False}
                if isinstance(pool, Mapping)
                else {"id": None, "name": "public worker pool", "public": True}
            ),
            "lastTrackedRun": run_item(runs[0], stack_id, links) if runs else None,
        }
    )
    return out


def run_result(raw: Mapping[str, Any], stack_id: str, links: Links) -> dict[str, Any]:
    """What an action answers: the run's (for trigger and retry the new run's) `{id, state}`,
    as the official plugin's trigger does, plus its link."""
    run_id = str(raw.get("id") or "")
    return {"id": run_id, "state": raw.get("state"), "url": links.run(stack_id, run_id)}
