"""Summary refresh work done outside the writer (issue 20): the part of a refresh that needs no
store (a story's summary and related-stories vector) runs in forked helpers, and during a long
ingest :class:`EarlyRefresh` refreshes the stories the clusterer has closed while the writer
decides the next batches. :class:`~storyline.engine.Engine` schedules it and writes the results."""
from __future__ import annotations

import gc
import os
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Iterable, Sequence

from . import related
from .models import Story, Summary
from .pipeline import die_with_parent
from .summarize import Summarizer
from .summarize.base import summarize_all

REFRESH_CHUNK = 64  # stories per refresh transaction: few round trips, steady progress
EARLY_QUEUE = 3  # chunks sent ahead to the early-refresh helper at most (bounded memory)
EARLY_NICENESS = 10  # the early-refresh helper's priority at the end of input, lowered (see EarlyRefresh)
EARLY_END_CHUNKS = 48  # chunks sent at the end of input at most (the 10k stream's open stories: 47)
EARLY_GROUP = 8  # stories the early-refresh helper summarizes together between looks at its stop event


def open_stories(engine: Any) -> dict[str, Any] | None:
    """The engine clusterer's open stories (id -> state), when it keeps them (StoryClusterer)."""
    found = getattr(getattr(engine.pipeline_, "clusterer", None), "stories_", None)
    return found if isinstance(found, dict) else None


class EarlyRefresh:
    """Summaries of the stories the clusterer has closed, refreshed while ingest continues.

    A story the clusterer closed (its last report fell outside the time window, or the cap on
    open stories closed it) takes no more originals in this run, and the end-of-input
    consolidation only merges and splits open stories; so its summary can be computed before the
    input ends, in a helper process, while this one decides the next batches (on a dated stream
    of a week, about half the stories close before the end). A result is written only when the
    story's members (originals and reprints) are still the ones it was computed from, so it is
    what :meth:`Engine.refresh_stories` would write at the end; otherwise the story stays dirty
    (a later reprint, a merge) and is refreshed at the end, or early again once it is closed.

    At the end of input, before the consolidation decides, every other story touched is sent too,
    open ones included (:meth:`send_all`): the helper summarizes them while the writer decides
    and records the consolidation and saves the clusterer's state. The consolidation's serial
    parts leave the second core idle (about 1.8 core-seconds at 10k), and it changes few of
    those stories; a result for one it merged or split fails the check above, and the story is
    refreshed at the end with the others the helper had not started.

    From then on the helper runs at a lower priority (``nice`` :data:`EARLY_NICENESS`): none of
    its work is waited for until the end, while the writer and the consolidation's helper wait for
    each other; on two cores its summaries take only the time the consolidation leaves. (During
    the stream it keeps the default priority: niced there, it fell behind, and the originals'
    vectors kept for the stories it had not refreshed grew with the stream: +140 MB at 100k.)
    :meth:`finish` stops it, so the writer never waits on it. Measured (docs/scale.md, session
    38), 10k ingest against the code before: -0.95 s (t -3.85) and -0.38 s (t -0.44, an outlier
    round) in two sets of six alternated rounds, the store the same to the bit.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.waiting: dict[str, None] = {}  # stories touched in this run and not sent since
        self.sent: set[str] = set()  # sent, result not yet written
        self.pending: deque[tuple[list[str], dict[str, Story], Future[list[tuple[Summary, tuple[Any, ...]]]]]] = deque()
        work = (engine.summarizer, related.embedder_for(engine), engine.settings.max_words)
        context = get_context("fork" if sys.platform == "linux" else "spawn")
        self.ending = context.Event()  # set by send_all(): the helper lowers its priority
        self.stop = context.Event()  # set by finish(): the helper stops after the group of stories it is on
        self.pool = ProcessPoolExecutor(1, mp_context=context, initializer=start_early,
                                        initargs=(work, self.ending, self.stop))
        self.pool.submit(int)  # its helper starts now, before the run-ahead helper's threads do (a clean fork)

    @classmethod
    def start(cls, engine: Any) -> "EarlyRefresh | None":
        """One for a long ingest (helpers allowed) whose clusterer says which stories are open."""
        if engine.settings.workers < 1 or open_stories(engine) is None:
            return None
        return cls(engine)

    def touched(self, stories: Iterable[str]) -> None:
        self.waiting.update(dict.fromkeys(stories))

    def step(self) -> None:
        """After a batch: write the finished results, send the stories closed since."""
        while self.pending and self.pending[0][2].done():
            self._write(self.pending.popleft())
        still_open = open_stories(self.engine)
        if still_open is not None:
            self._send([s for s in self.waiting if s not in still_open and s not in self.sent], EARLY_QUEUE)

    def send_all(self) -> None:
        """At the end of input, before the consolidation: send the stories touched and not sent,
        open ones too, so their summaries are computed while the writer consolidates; at most
        :data:`EARLY_END_CHUNKS` chunks (their members are held meanwhile: a long ingest may end
        with a backlog of closed stories, which the final refresh takes in bounded chunks)."""
        self.ending.set()
        self._send([s for s in self.waiting if s not in self.sent], len(self.pending) + EARLY_END_CHUNKS)

    def _send(self, stories: list[str], most: int | None) -> None:
        closed = stories
        while closed and (most is None or len(self.pending) < most):
            chunk, closed = closed[:REFRESH_CHUNK], closed[REFRESH_CHUNK:]
            for story in chunk:
                del self.waiting[story]
            members = self.engine.store.stories_members(chunk)
            self.sent.update(chunk)
            future = self.pool.submit(refresh_early_in_worker, self.engine._refresh_items(chunk, members))
            self.pending.append((chunk, members, future))

    def _write(self, item: tuple[list[str], dict[str, Story], Future[list[tuple[Summary, tuple[Any, ...]]]]]) -> None:
        chunk, members, results = result_of(item)
        self.sent.difference_update(chunk)
        # a chunk stopped by finish() has results for its first stories only
        computed = dict(zip([s for s in chunk if s in members], results))
        now = self.engine.store.story_membership(list(computed))
        write = [s for s in computed if now.get(s) == ([a.id for a in members[s].articles], members[s].reprints)]
        if write:
            self.engine._save_refreshed(write, {s: members[s] for s in write}, [computed[s] for s in write])
            self.engine._related_owed = True
            self.engine.refreshed_early_ += len(write)

    def finish(self, write: bool = True) -> None:
        """After the end-of-input consolidation: stop the helper after the group it is on, and
        withdraw every chunk it has not started (their stories stay dirty: the final refresh
        computes them, in parallel, as it would have), then write the results computed
        (``write=False``: none). The writer never waits for more than one group of stories
        (:data:`EARLY_GROUP`) of the helper, which runs below its priority (session 28 found the
        writer waiting minutes for a helper at a low priority on a busy machine).

        All are withdrawn before any result is awaited, newest first: the pool feeds its helper
        the oldest waiting chunk whenever one finishes, so withdrawing while waiting in order
        would let the helper work through the queue while the writer waits (6-10 s at 10k)."""
        self.stop.set()
        try:
            for chunk, _, future in reversed(self.pending):
                if future.cancel():
                    self.sent.difference_update(chunk)
            while self.pending and write:
                item = self.pending.popleft()
                if not item[2].cancelled():
                    self._write(item)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


Work = tuple[Summarizer, Any, int]  # summarizer, embedder for related stories, word budget
_WORK: Work | None = None
_STOP: Any = None  # the early-refresh helper's stop event
_ENDING: Any = None  # ... and its end-of-input event
_NICED = False  # it has lowered its priority


def refresh(work: Work, items: Sequence[tuple[Story, list[Any] | None]]) -> list[tuple[Summary, tuple[Any, ...]]]:
    """(summary, related-stories vector row) of each story (with its articles' vectors when
    known): the part of a refresh that needs no store."""
    summarizer, embedder, max_words = work
    summaries = summarize_all(summarizer, [story.articles for story, _ in items], max_words)
    return [(summary, related.vector_row(story, embedder, vectors)) for summary, (story, vectors) in zip(summaries, items)]


def start_refresher(work: Work) -> None:
    global _WORK
    die_with_parent()
    # a forked helper inherits the writer's heap (the clusterer's state, the models: about 290k objects
    # at the end of a 10k ingest, whose full collections cost the helper 0.65-0.7 s);
    # frozen, the collector never walks them (nor copies their pages on write)
    gc.freeze()
    _WORK = work


def start_early(work: Work, ending: Any, stop: Any) -> None:
    """:func:`start_refresher` for the early-refresh helper: it yields the cores once ``ending``
    is set, and stops when ``stop`` is set (both Events)."""
    global _ENDING, _STOP
    _ENDING, _STOP = ending, stop
    start_refresher(work)


def refresh_early_in_worker(items: list[tuple[Story, list[Any] | None]]) -> list[tuple[Summary, tuple[Any, ...]]]:
    """:func:`refresh` of the stories in order, :data:`EARLY_GROUP` at a time, until the stop event
    is set: the results of the first groups (all, unless stopped)."""
    global _NICED
    assert _WORK is not None
    out: list[tuple[Summary, tuple[Any, ...]]] = []
    for start in range(0, len(items), EARLY_GROUP):
        if _STOP is not None and _STOP.is_set():
            break
        if not _NICED and _ENDING is not None and _ENDING.is_set() and hasattr(os, "nice"):  # not on Windows
            os.nice(EARLY_NICENESS)
            _NICED = True
        out += refresh(_WORK, items[start : start + EARLY_GROUP])
    return out


def refresh_in_worker(items: list[tuple[Story, list[Any] | None]]) -> list[tuple[Summary, tuple[Any, ...]]]:
    assert _WORK is not None
    return refresh(_WORK, items)


def result_of(item: tuple[list[str], dict[str, Story], Future[list[tuple[Summary, tuple[Any, ...]]]]]
           ) -> tuple[list[str], dict[str, Story], list[tuple[Summary, tuple[Any, ...]]]]:
    chunk, members, future = item
    return chunk, members, future.result()


__all__ = ["EARLY_END_CHUNKS", "EARLY_NICENESS", "EARLY_QUEUE", "REFRESH_CHUNK", "EarlyRefresh", "Work", "open_stories", "result_of", "refresh",
           "refresh_early_in_worker", "refresh_in_worker", "start_early", "start_refresher"]
