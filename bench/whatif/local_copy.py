"""A what-if prototype, NOT the product: the plan for benchmarks 2 and 4, measured end to end.

Two per-process memos, keyed so that a process never serves anything but what Redis holds:
1. The decoded cached answer. Every write of `resp:<key>` also writes a small `stamp:<key>`
   (fetchedAt, freshUntil); a read fetches the stamp (a few bytes) and reuses the decoded answer
   while the stamp is unchanged, instead of fetching and unpickling the whole list.
2. The result of `listing.select` (filter, sort, page, counts) for one decoded answer and one
   StackFilter, so that polls of the same view do not sort the list again.

    PYTHONPATH=bench/whatif GREENROOM_WHATIF=1 .venv/bin/python bench/throughput.py
    PYTHONPATH=bench/whatif GREENROOM_WHATIF=1 .venv/bin/python bench/big_world.py

Prototype shortcuts: it returns the memoized objects themselves (the real change would copy
before `ResponseCache.invalidate` mutates an entry), and the memos are small LRU dicts.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import Any

_LOCK = threading.Lock()
_ANSWERS: OrderedDict[tuple, tuple] = OrderedDict()
_SELECTS: OrderedDict[tuple, tuple] = OrderedDict()
LIMIT = 64


def _remember(memo: OrderedDict, key: tuple, value: tuple) -> None:
    with _LOCK:
        memo[key] = value
        memo.move_to_end(key)
        while len(memo) > LIMIT:
            memo.popitem(last=False)


def install() -> None:
    from host.services import PluginCache
    from spacelift_backend import listing
    from spacelift_backend.cache import ResponseCache

    original_set = PluginCache.set

    def set_with_stamp(self: Any, key: str, value: Any, ttl: float | None = None) -> None:
        original_set(self, key, value, ttl)
        if ":resp:" in f":{key}" and isinstance(value, dict) and "fetchedAt" in value:
            stamp_key = key.replace("resp:", "stamp:", 1)
            original_set(self, stamp_key, (value["fetchedAt"], value["freshUntil"]), ttl)

    original_read = ResponseCache._read

    def read(self: Any, key: str) -> Any:
        stamp = self.cache.get("stamp:" + key)
        memo_key = (id(self), key)
        held = _ANSWERS.get(memo_key)
        if stamp is not None and held is not None and held[0] == tuple(stamp):
            return held[1]
        entry = original_read(self, key)
        if entry is not None:
            _remember(_ANSWERS, memo_key, ((entry["fetchedAt"], entry["freshUntil"]), entry))
        return entry

    original_select = listing.select

    def select(stacks: Any, f: Any) -> Any:
        memo_key = (id(stacks), f)
        held = _SELECTS.get(memo_key)
        if held is not None and held[0] is stacks:
            return held[1]
        result = original_select(stacks, f)
        _remember(_SELECTS, memo_key, (stacks, result))
        return result

    PluginCache.set = set_with_stamp  # type: ignore[method-assign]
    ResponseCache._read = read  # type: ignore[method-assign]
    listing.select = select
    print("what-if prototype installed: local copies of cached answers and of select()",
          file=sys.stderr)
