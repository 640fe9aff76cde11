"""The consolidation's searches shared with forked helpers (issue 20).

A consolidation pass searches once per story or member, reading the clusterer's state and
changing none of it, so a long list of searches can be shared with helpers forked from this
process (:func:`~storyline.forked.shared_pieces`): they see the same state and find the same
results. The list goes in pieces of :data:`~.index.AHEAD_BLOCK` items (so every block of
similarities or term sums holds the same queries whoever searches it,
:meth:`~.index.DenseStoryIndex.expect`).
"""
from __future__ import annotations

from typing import Any, Callable

from ..forked import can_fork, shared_pieces
from .index import AHEAD_BLOCK

PARALLEL_SEARCH = 2000  # searches in a list before forked helpers pay off (a fork costs ~50 ms)
# a clusterer (a StoryClusterer; the type stays unnamed here, which .stream imports) and an item:
Queries = Callable[[Any, Any], Any]  # the vector (an ArticleVector) the item's search will query, or None
Search = Callable[[Any, Any], Any]  # the item's search


def shared(cl: Any, fn: Search, items: list[Any], queries: Queries | None = None) -> list[Any]:
    """``fn(cl, item)`` of every item, in order; a list of at least :data:`PARALLEL_SEARCH` is
    shared with ``cl.workers`` forked helpers (Linux), which read the same state (``fn`` changes
    nothing), so the result is the same."""
    if cl.workers < 1 or len(items) < PARALLEL_SEARCH or not can_fork():
        return each(cl, fn, items, queries)

    def piece(n: int) -> list[Any]:
        start = n * AHEAD_BLOCK
        return each(cl, fn, items[start : start + AHEAD_BLOCK], queries, start)

    return [out for done in shared_pieces(-(-len(items) // AHEAD_BLOCK), piece, cl.workers) for out in done]


def each(cl: Any, fn: Search, items: list[Any], queries: Queries | None, start: int = 0) -> list[Any]:
    """``fn(cl, item)`` of each item, the items being positions ``start``... of :func:`shared`'s list."""
    if queries is None:
        return [fn(cl, item) for item in items]
    with cl._expecting([queries(cl, item) for item in items], start):
        return [fn(cl, item) for item in items]


__all__ = ["PARALLEL_SEARCH", "Queries", "shared", "each"]
