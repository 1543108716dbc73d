"""Per-process copies of cached answers (benchmark 4): a big answer is decoded once per change in
each process, every change made by another process is still seen at once, and nothing shared
between requests is ever changed."""

from __future__ import annotations

import logging
from typing import Any

from cachelib import SimpleCache

from host import PluginCache
from spacelift_backend import listing
from spacelift_backend.cache import ResponseCache, cache_key

LOG = logging.getLogger("test")


class CountingCache(SimpleCache):
    """One shared cache (as Redis is), counting reads of whole answers."""

    def __init__(self) -> None:
        super().__init__(threshold=1000, default_timeout=300)
        self.answer_reads = 0

    def get(self, key: str) -> Any:
        if ":resp:" in key:
            self.answer_reads += 1
        return super().get(key)


def two_processes(ttl: float = 60) -> tuple[CountingCache, ResponseCache, ResponseCache]:
    shared = CountingCache()
    a, b = (ResponseCache(PluginCache(shared, "plugin:spacelift"), ttl, lock_wait=5, logger=LOG)
            for _ in range(2))  # fmt: skip
    return shared, a, b


def never() -> Any:
    raise AssertionError("fetched from Spacelift although the cache holds a fresh answer")


def test_a_big_answer_is_decoded_once_per_change_and_every_change_is_seen_at_once():
    shared, a, b = two_processes()
    first = [{"id": f"stack-{i}"} for i in range(1000)]
    a.get("stacks", None, lambda: first)
    shared.answer_reads = 0
    answers = [b.get("stacks", None, never) for _ in range(5)]
    assert shared.answer_reads == 1  # decoded once, then checked by its stamp only
    assert all(x.data is answers[0].data for x in answers) and answers[0].data == first
    # Another process refetches: the next read here sees the new answer, without a fetch.
    a.invalidate("stacks")
    second = [{"id": "stack-new"}]
    assert a.get("stacks", None, lambda: second).data == second
    shared.answer_reads = 0
    assert b.get("stacks", None, never).data == second
    assert b.get("stacks", None, never).data == second
    assert shared.answer_reads == 1


def test_invalidate_never_changes_an_answer_other_requests_hold():
    _shared, a, b = two_processes()
    a.get("stacks", None, lambda: ["one"])
    b.get("stacks", None, never)
    entry = b._read(cache_key("stacks", None))  # this process's copy, shared by its requests
    assert entry is not None and entry["freshUntil"] > 0
    b.invalidate("stacks")
    assert entry["freshUntil"] > 0 and entry["data"] == ["one"]  # untouched
    fetched = []
    again = b.get("stacks", None, lambda: fetched.append(1) or ["two"])
    assert fetched == [1] and again.data == ["two"]  # but the answer is due for a refetch
    assert a.get("stacks", None, never).data == ["two"]


def test_a_process_without_the_stamp_reads_the_answer_itself():
    """An answer stored before stamps existed (or a stamp evicted) is read in full."""
    shared, a, b = two_processes()
    a.get("stacks", None, lambda: ["x"])
    for key in list(shared._cache):
        if ":stamp:" in key:
            shared.delete(key)
    shared.answer_reads = 0
    assert b.get("stacks", None, never).data == ["x"]
    assert b.get("stacks", None, never).data == ["x"]
    assert shared.answer_reads == 2


def test_selections_work_each_filter_out_once_per_list():
    stacks = [{"id": f"s{i:03}", "name": f"s{i:03}", "state": ("FAILED", "FINISHED")[i % 2],
               "stateCategory": ("failed", "finished")[i % 2], "labels": [f"team:{i % 3}"]}
              for i in range(120)]  # fmt: skip
    selections = listing.Selections()
    filters = [listing.StackFilter(), listing.StackFilter(states=frozenset({"FAILED"})),
               listing.StackFilter(labels=("team:1",), sort="-name", page=2),
               listing.StackFilter(q="s01")]  # fmt: skip
    for f in filters:
        first = selections.select(stacks, f)
        assert first == listing.select(stacks, f)
        assert selections.select(stacks, f) is first  # reused
    # The next fetch is a new list: worked out again, from the new list.
    newer = [dict(s, state="FINISHED", stateCategory="finished") for s in stacks]
    assert selections.select(newer, filters[1]) == listing.select(newer, filters[1])
    assert selections.select(newer, filters[1])["total"] == 0
