"""The consolidation's searches shared with forked helpers (issue 20).

A consolidation pass searches once per story or member, reading the clusterer's state and
changing none of it, so a long list of searches can be shared with helpers forked from this
process: they see the same state and find the same results. The list goes in pieces of
:data:`~.index.AHEAD_BLOCK` items (so every block of similarities or term sums holds the same
queries whoever searches it, :meth:`~.index.DenseStoryIndex.expect`); this process takes pieces from
the front, the helpers from the back, until they meet, so neither waits for a fixed share of the
other's (after the fork this process pays most of the page copies, and its half used to take
10-20 % longer).
"""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Callable

from threadpoolctl import threadpool_limits

from .index import AHEAD_BLOCK

PARALLEL_SEARCH = 2000  # searches in a list before forked helpers pay off (a fork costs ~50 ms)
# a clusterer (a StoryClusterer; the type stays unnamed here, which .stream imports) and an item:
Queries = Callable[[Any, Any], Any]  # the vector (an ArticleVector) the item's search will query, or None
Search = Callable[[Any, Any], Any]  # the item's search
_SEARCHING: "tuple[Any, Search, Queries | None, Pieces] | None" = None  # what a forked helper runs


class Pieces:
    """A list in pieces of :data:`~.index.AHEAD_BLOCK` items that forked processes share out:
    one takes pieces from the front, the others from the back, each claiming the next under a
    lock, until none is left. Only piece numbers pass between processes (the items are inherited)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        context = get_context("fork")
        self.ends = context.RawArray("l", [0, -(-len(items) // AHEAD_BLOCK)])  # the next from the front, the end
        self.lock = context.Lock()

    def _claim(self, front: bool) -> int | None:
        with self.lock:
            if self.ends[0] >= self.ends[1]:
                return None
            if front:
                self.ends[0] += 1
                return self.ends[0] - 1
            self.ends[1] -= 1
            return self.ends[1]

    def run(self, cl: Any, fn: Search, queries: Queries | None, front: bool) -> dict[int, list[Any]]:
        """:func:`each` of every piece this process claims, by piece number."""
        done = {}
        while (n := self._claim(front)) is not None:
            start = n * AHEAD_BLOCK
            done[n] = each(cl, fn, self.items[start : start + AHEAD_BLOCK], queries, start)
        return done


def shared(cl: Any, fn: Search, items: list[Any], queries: Queries | None = None) -> list[Any]:
    """``fn(cl, item)`` of every item, in order; a list of at least :data:`PARALLEL_SEARCH` is
    shared with ``cl.workers`` forked helpers (Linux), which read the same state (``fn`` changes
    nothing), so the result is the same."""
    if cl.workers < 1 or len(items) < PARALLEL_SEARCH or sys.platform != "linux":
        return each(cl, fn, items, queries)
    global _SEARCHING
    pieces = Pieces(items)
    _SEARCHING = (cl, fn, queries, pieces)
    try:
        with ProcessPoolExecutor(cl.workers, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_search_in_child) for _ in range(cl.workers)]
            done = pieces.run(cl, fn, queries, front=True)
            for future in futures:
                done.update(future.result())
    finally:
        _SEARCHING = None
    return [out for n in range(len(done)) for out in done[n]]


def each(cl: Any, fn: Search, items: list[Any], queries: Queries | None, start: int = 0) -> list[Any]:
    """``fn(cl, item)`` of each item, the items being positions ``start``... of :func:`shared`'s list."""
    if queries is None:
        return [fn(cl, item) for item in items]
    with cl._expecting([queries(cl, item) for item in items], start):
        return [fn(cl, item) for item in items]


def _search_in_child() -> dict[int, list[Any]]:
    assert _SEARCHING is not None
    cl, fn, queries, pieces = _SEARCHING
    with threadpool_limits(1, user_api="blas"):
        return pieces.run(cl, fn, queries, front=False)


__all__ = ["PARALLEL_SEARCH", "Pieces", "Queries", "shared", "each"]
