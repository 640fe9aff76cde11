"""Stages 2-5 wired together: text -> duplicates -> stories -> synthesis.

:class:`Pipeline` holds one object per stage (each swappable) and is what ``digest``, ``ingest``
and the store call. It is incremental: ``add`` feeds articles through dedup and clustering in
arrival order; ``stories`` builds synthesized stories from everything seen.
"""
from __future__ import annotations

import itertools
import pickle
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from .cluster import Clusterer, default_clusterer, placed
from .config import Settings
from .dedup import Deduplicator, MinHashDeduplicator
from .models import Article, Story
from .summarize import Summarizer, default_summarizer
from .summarize.base import summarize_all
from .text import clean_text, detect_languages
from .text.tokens import shared_tokens

Preparer = Callable[[Sequence[Article]], list[Any]]


@runtime_checkable
class Prepares(Protocol):
    """A stage whose per-article work needs none of its state (a deduplicator's sketches, a
    clusterer's vectors). ``preparer()`` returns that work as a picklable function of a batch,
    and ``partial_fit(articles, prepared)`` takes its results instead of computing them, so the
    work can run ahead of the stream in another process. Results must not depend on where it ran."""

    def preparer(self) -> Preparer: ...


def prepare(article: Article) -> Article:
    """Text stage: normalize title and text and fill in the language."""
    prepare_all([article])
    return article


def prepare_all(articles: Sequence[Article]) -> None:
    """:func:`prepare` of each article, their languages detected in one call."""
    for art in articles:
        art.title = clean_text(art.title)
        art.text = clean_text(art.text)
    unknown = [art for art in articles if not art.language]
    for art, language in zip(unknown, detect_languages([art.body for art in unknown])):
        art.language = language


@dataclass(slots=True)
class Prepared:
    """A batch's text stage and stage preparers' results, one entry per article of the batch."""

    texts: list[tuple[str, str, str]]  # cleaned title, cleaned text, language
    dedup: list[Any] | None = None
    cluster: list[Any] | None = None

    def subset(self, keep: Sequence[int]) -> "Prepared":
        """The entries of the articles at positions ``keep`` (the batch with some left out)."""
        pick = lambda xs: None if xs is None else [xs[i] for i in keep]  # noqa: E731
        return Prepared([self.texts[i] for i in keep], pick(self.dedup), pick(self.cluster))


def prepare_batch(articles: Sequence[Article], dedup: Preparer | None, cluster: Preparer | None) -> Prepared:
    """Everything about ``articles`` that needs no stream state."""
    prepare_all(articles)
    with shared_tokens():  # the deduplicator and the clusterer tokenize the same texts
        return Prepared([(a.title, a.text, a.language) for a in articles],
                        dedup(articles) if dedup else None, cluster(articles) if cluster else None)


_WORKER_PREPARERS: tuple[Preparer | None, Preparer | None] = (None, None)


def die_with_parent() -> None:
    """In a helper process: end when the process that started it ends, even by ``kill -9``
    (Linux ``PR_SET_PDEATHSIG``). A forked helper shares the writer's open files, the writer
    lock's among them: an orphaned helper would hold the store's lock for the next run."""
    if sys.platform != "linux":
        return
    import ctypes
    import os
    import signal

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call took effect
        os._exit(1)


def _start_worker(preparers: bytes) -> None:
    global _WORKER_PREPARERS
    die_with_parent()
    _WORKER_PREPARERS = pickle.loads(preparers)


def _prepare_in_worker(articles: list[Article]) -> Prepared:
    return prepare_batch(articles, *_WORKER_PREPARERS)


class RunAhead:
    """Runs :func:`prepare_batch` for the next batches in helper processes while the stream
    stage works on the current one (one helper on a 2-core machine: the text stage, MinHash
    sketches and article vectors are about half of ``storyline cluster``'s time).

    On Linux helpers are forked: they start at once, share what is loaded, and need no
    ``if __name__ == "__main__"`` guard in a user's script (a spawned helper re-imports the
    main module). The preparers travel pickled either way, so what a helper runs is what
    would have run here. Elsewhere (macOS, Windows) they are spawned."""

    def __init__(self, preparers: bytes, workers: int, depth: int) -> None:
        context = get_context("fork" if sys.platform == "linux" else "spawn")
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(preparers,))
        self.depth = depth

    def map(self, batches: Iterable[list[Article]]) -> Iterator[Prepared]:
        """``Prepared`` for each batch, in order, keeping ``depth`` batches in flight while the
        caller works on one. The first batch is handed to the helpers before this returns, so
        they work while the caller does something else (decides a batch it prepared itself);
        the others are read as the caller asks for results: none before the first result, then
        one more each time until ``depth`` are ahead (a reader that stops when told is asked
        again only then). Exhaust or ``close()`` the result: that shuts the helpers down."""
        results = self._results(iter(batches))
        next(results)  # the helpers have the first batch
        return results  # type: ignore[return-value]

    def _results(self, batches: Iterator[list[Article]]) -> Iterator[Prepared | None]:
        with self.pool:
            pending: deque[Future[Prepared]] = deque(self.pool.submit(_prepare_in_worker, b)
                                                     for b in itertools.islice(batches, 1))
            yield None  # map's priming
            # batches handed out before waiting: none more for the first result (the caller stores its
            # first two batches before the reader is asked again), then one more a result, up to depth + 1
            ahead = 1
            while True:
                for batch in itertools.islice(batches, ahead - len(pending)):  # never below what is pending
                    pending.append(self.pool.submit(_prepare_in_worker, batch))
                if not pending:
                    return
                ahead = min(ahead + 1, self.depth + 1)
                yield pending.popleft().result()


def arrival_order(articles: Sequence[Article]) -> list[Article]:
    """Articles by ``published``, ties and undated items in the order given (undated first)."""
    if not any(a.published for a in articles):
        return list(articles)
    def key(pair: tuple[int, Article]) -> tuple[float, int]:
        i, a = pair
        return (a.published.timestamp() if a.published else float("-inf"), i)

    return [a for _, a in sorted(enumerate(articles), key=key)]


@dataclass
class Pipeline:
    """The engine's stages for one stream of articles."""

    settings: Settings = field(default_factory=Settings)
    dedup: Deduplicator | None = None
    clusterer: Clusterer | None = None
    summarizer: Summarizer | None = None
    keep_articles: bool = True  # False: remember ids only (the engine keeps articles in its store)
    articles_: dict[str, Article | None] = field(default_factory=dict)
    canonical_: dict[str, str] = field(default_factory=dict)
    story_of_: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dedup is None:
            self.dedup = MinHashDeduplicator(
                threshold=self.settings.dedup_threshold, num_perm=self.settings.dedup_num_perm
            )
        if self.clusterer is None:
            self.clusterer = default_clusterer(self.settings)
        if self.summarizer is None:
            self.summarizer = default_summarizer()
        for stage, proto in ((self.dedup, Deduplicator), (self.clusterer, Clusterer), (self.summarizer, Summarizer)):
            if not isinstance(stage, proto):
                raise TypeError(f"{type(stage).__name__} does not implement {proto.__name__}")

    def add(self, articles: Iterable[Article], prepared: Prepared | None = None) -> list[str]:
        """Feed articles in arrival order; returns the story id of each new one. ``prepared``:
        :func:`prepare_batch`'s result for exactly these articles, when it was computed ahead."""
        articles = list(articles)
        if prepared is not None:
            for art, (title, text, language) in zip(articles, prepared.texts, strict=True):
                art.title, art.text, art.language = title, text, language
        ahead = prepared if prepared is not None else Prepared([])  # no stage results: stages compute them
        keep = [i for i, a in enumerate(articles) if a.id not in self.articles_]
        batch = [articles[i] if prepared is not None else prepare(articles[i]) for i in keep]
        assert self.dedup is not None and self.clusterer is not None
        result = self._stage(self.dedup, batch, ahead.dedup, keep)
        originals, at = [], []
        for i, art, canon in zip(keep, batch, result.canonical):
            self.articles_[art.id] = art if self.keep_articles else None
            self.canonical_[art.id] = canon
            if canon == art.id:
                originals.append(art)
                at.append(i)
        for art, story in zip(originals, self._stage(self.clusterer, originals, ahead.cluster, at)):
            self.story_of_[art.id] = story
        return [self.story_id(a.id) for a in batch]

    @staticmethod
    def _stage(stage: Any, batch: list[Article], prepared: list[Any] | None, at: list[int]) -> Any:
        if prepared is None:
            return stage.partial_fit(batch)
        return stage.partial_fit(batch, prepared=[prepared[i] for i in at])

    def add_all(self, articles: Sequence[Article], *, batch_size: int = 512,
                progress: Callable[[int], None] | None = None) -> None:
        """Feed a whole input in arrival order, in batches. When it spans more than two batches
        and ``Settings.workers`` allows, the text stage and the stages' preparers run one batch
        ahead in helper processes (same results as in-process, measured in docs/clustering.md)."""
        batches = [list(articles[i : i + batch_size]) for i in range(0, len(articles), batch_size)]
        ahead = self.run_ahead() if len(batches) > 2 else None
        # with helpers the first batch is prepared here, loading the models the forked helpers then
        # share; they prepare the next batches while this process decides the first
        first = self.prepare(batches[0]) if ahead else None
        helped = ahead.map(batches[1:]) if ahead else None
        try:
            for n, batch in enumerate(batches):
                self.add(batch, next(helped) if helped and n else first)
                if progress:
                    progress(len(batch))
        finally:
            if helped:
                helped.close()

    def run_ahead(self, depth: int = 2) -> RunAhead | None:
        """Helpers for :meth:`add_all` (and the engine's ingest), or None when disabled or a
        stage's work cannot travel."""
        if self.settings.workers < 1:
            return None
        preparers = self._preparers()
        try:
            blob = pickle.dumps(preparers)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None  # e.g. a torch model as embedder: it stays in this process
        if len(blob) > 1_000_000:
            return None
        return RunAhead(blob, self.settings.workers, depth=depth)

    def prepare(self, articles: Sequence[Article]) -> Prepared:
        """:func:`prepare_batch` of ``articles`` in this process: what a run-ahead helper computes
        for a batch (the engine prepares the batches it decides without a helper this way too, so
        it keeps their article vectors for the summary refresh)."""
        return prepare_batch(articles, *self._preparers())

    def _preparers(self) -> tuple[Preparer | None, Preparer | None]:
        return tuple(s.preparer() if isinstance(s, Prepares) else None for s in (self.dedup, self.clusterer))  # type: ignore[return-value]

    def finish(self) -> dict[str, str]:
        """End of input: let the clusterer merge stories that turned out to be one; returns the
        merges it made (merged-away id -> the id that absorbed it)."""
        assert self.clusterer is not None
        return dict(self.clusterer.consolidate() or {})

    def story_id(self, article_id: str) -> str:
        assert self.clusterer is not None
        canon = self.canonical_.get(article_id, article_id)
        return placed(self.clusterer, canon, self.story_of_[canon])

    def stories(self, *, summarize: bool = True, max_words: int | None = None) -> list[Story]:
        """Every story, biggest first (ties: earliest first seen, then id)."""
        if not self.keep_articles:
            raise RuntimeError("this pipeline keeps no articles (keep_articles=False); read stories from its store")
        by_story: dict[str, Story] = {}
        for art_id, art in self.articles_.items():
            assert art is not None
            story = by_story.setdefault(self.story_id(art_id), Story(id=self.story_id(art_id)))
            canon = self.canonical_[art_id]
            if canon == art_id:
                story.articles.append(art)
            else:
                story.reprints.setdefault(canon, []).append(art_id)
        out = list(by_story.values())
        if summarize:
            assert self.summarizer is not None
            budget = max_words or self.settings.max_words
            for story, summary in zip(out, summarize_all(self.summarizer, [s.articles for s in out], budget)):
                story.summary = summary  # made together: the same summaries, faster
        out.sort(key=lambda s: (-(s.size + s.duplicates), -s.size, s.id))
        return out


def digest(articles: Sequence[Article], settings: Settings | None = None, **stages: object) -> list[Story]:
    """One-shot: group ``articles`` into summarized stories, biggest first."""
    pipe = Pipeline(settings or Settings(), **stages)  # type: ignore[arg-type]
    pipe.add_all(arrival_order(articles))
    pipe.finish()
    return pipe.stories()
