"""Template helpers every plugin gets: times (Unix seconds or ISO 8601) and durations.

Relative times are coarse (minutes at best) on purpose: a polled fragment that says "just now"
keeps its ETag, so an unchanged poll still costs a 304.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup


def _seconds(value: Any) -> float | None:
    """Unix seconds from a number, or from an ISO 8601 string ("2026-01-31T12:00:00.000Z")."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.timestamp() if parsed.tzinfo else parsed.replace(tzinfo=UTC).timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def isotime(value: Any) -> str:
    """Unix seconds -> "2026-11-27 20:41:07 UTC" ("" for no value)."""
    seconds = _seconds(value)
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def isodatetime(value: Any) -> str:
    """Unix seconds -> an ISO 8601 value for <time datetime="...">."""
    seconds = _seconds(value)
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def timeago(value: Any, now: float | None = None) -> str:
    """Unix seconds -> "just now", "5 min ago", "3 h ago", "2 d ago" ("—" for no value)."""
    seconds = _seconds(value)
    if seconds is None:
        return "—"
    delta = (now if now is not None else time.time()) - seconds
    future = delta < 0
    delta = abs(delta)
    if delta < 60:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if delta >= size:
            amount = int(delta // size)
            return f"in {amount} {unit}" if future else f"{amount} {unit} ago"
    return "just now"  # pragma: no cover


def duration(value: Any) -> str:
    """Seconds -> "45 s", "3 min 12 s", "2 h 5 min" ("—" for no value)."""
    seconds = _seconds(value)
    if seconds is None or seconds < 0:
        return "—"
    total = int(round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def timetag(value: Any) -> Markup:
    """Unix seconds -> a <time> that shows the exact UTC time, which the host's script turns into
    "5 min ago" in the browser (the exact time stays on hover). The HTML does not change as time
    passes, so a polled fragment keeps its ETag."""
    seconds = _seconds(value)
    if seconds is None:
        return Markup("—")
    return Markup('<time datetime="{0}" title="{1}" data-relative>{1}</time>').format(
        isodatetime(seconds), isotime(seconds)
    )


def install(env: Environment) -> None:
    env.filters.update(
        isotime=isotime, isodatetime=isodatetime, timeago=timeago, duration=duration, timetag=timetag
    )
