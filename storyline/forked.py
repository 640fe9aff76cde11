"""Work in numbered pieces shared with forked helpers (Linux), for read-only work on what this
process holds: the consolidation's searches (:mod:`.cluster.share`) and the related lists'
comparisons (:mod:`.related`).

The helpers are forked, so they see the same state without it being sent, and only piece
numbers and results pass between processes. This process takes pieces from the front, the
helpers from the back, each claiming the next under a lock until none is left, so neither waits
for a fixed share of the other's (after the fork this process pays most of the page copies, and
a fixed half used to take it 10-20 % longer).
"""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Callable

from .process import blas_limited

Work = Callable[[int], Any]  # one piece's result, by its number
_SHARING: "tuple[Claims, Work] | None" = None  # what a forked helper runs


class Claims:
    """``n`` piece numbers that forked processes share out: one process takes them from the
    front, the others from the back, each claiming the next under a lock."""

    def __init__(self, n: int) -> None:
        context = get_context("fork")
        self.ends = context.RawArray("l", [0, n])  # the next from the front, the end
        self.lock = context.Lock()

    def claim(self, front: bool) -> int | None:
        with self.lock:
            if self.ends[0] >= self.ends[1]:
                return None
            if front:
                self.ends[0] += 1
                return self.ends[0] - 1
            self.ends[1] -= 1
            return self.ends[1]

    def run(self, work: Work, front: bool) -> dict[int, Any]:
        """``work`` of every piece this process claims, by piece number."""
        done = {}
        while (n := self.claim(front)) is not None:
            done[n] = work(n)
        return done


def can_fork() -> bool:
    return sys.platform == "linux"


def shared_pieces(n: int, work: Work, helpers: int) -> list[Any]:
    """``work(k)`` for each ``k`` in ``range(n)``, in order, with ``helpers`` forked helpers
    taking pieces too (none, or not on Linux: all here). ``work`` must change nothing another
    piece reads: each process works on its own copy."""
    if helpers < 1 or n < 2 or not can_fork():
        return [work(k) for k in range(n)]
    global _SHARING
    claims = Claims(n)
    _SHARING = (claims, work)
    try:
        with ProcessPoolExecutor(helpers, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_work_in_child) for _ in range(helpers)]
            done = claims.run(work, front=True)
            for future in futures:
                done.update(future.result())
    finally:
        _SHARING = None
    return [done[k] for k in range(n)]


def _work_in_child() -> dict[int, Any]:
    assert _SHARING is not None
    claims, work = _SHARING
    with blas_limited():
        return claims.run(work, front=False)


__all__ = ["Claims", "can_fork", "shared_pieces"]
