"""The engine: the pipeline (dedup, clustering, summaries, editorial decisions) over a store.

``ingest``, ``watch``, ``rebuild``, the web's editorial actions and library users all write
through :class:`Engine`. It keeps the stream's state (one :class:`~storyline.pipeline.Pipeline`:
the deduplicator and the clusterer) and saves it in the store; the store only persists
(:class:`~storyline.store.base.Store`).

One writer: every write session holds the store's writer lock (``Store.writer``: a lock file
for SQLite, an advisory lock for PostgreSQL). A second writer waits up to ``writer_wait``
seconds, then is refused with a message naming the holder. On taking the lock the engine compares
the store's generation (bumped by every engine commit) with the one its in-memory state was at,
and reloads when another process wrote in between, so two writers never diverge.

State that names its makers: the clusterer's saved state carries a composite key (clusterer,
embedder, IDF table, a hash of each model file: :func:`maker_of`). A store made by a different
engine refuses to resume with a message naming the difference and ``storyline rebuild``.

Resume: every batch is one transaction that also marks the end-of-input consolidation as owed;
the consolidation clears the mark in its own transaction. A run killed at any point leaves
whole batches; the next run (even with nothing new) replays from the last state checkpoint,
finishes the owed consolidation and refreshes dirty summaries.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
import sys
import time
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .cluster import Clusterer, default_clusterer, placed, resolve
from .cluster.base import collector_paused
from . import related
from .config import Settings
from .dedup import MinHashDeduplicator
from .dedup.minhash import article_time
from .dedup.stored import check_signatures
from .ingest.dates import parse_date
from .errors import StorageError
from .models import Article, Story, Summary
from .pipeline import Pipeline, Prepared
from .refresh import REFRESH_CHUNK, EarlyRefresh, refresh, refresh_in_worker, result_of, start_refresher
from .store import SQLStore, open_store
from .store import editorial
from .store import state as state_codec
from .store.base import PENDING_KEY, IngestResult, now_iso
from .text.embed import TRAINED_KEY, WordLlamaEmbedder
from .summarize import Summarizer, default_summarizer

Progress = Callable[[int], None]  # n more done; with a ``phase(label, total)`` method, told each stage
STATE_NAME = "clusterer"
DEDUP_CLOCK_KEY = "dedup:clock"  # the deduplicator's clock (newest date seen), saved with each batch
_FILE_HASHES: dict[tuple[str, float, int], str] = {}
log = logging.getLogger("storyline.engine")


def _phase(progress: Progress | None, label: str, total: int | None = None) -> None:
    """A long stage of an ingest starts (at 1M articles the end-of-input work takes most of an
    hour): logged, and shown by a ``progress`` that has stages (the command line's bar)."""
    log.info(label, extra={} if total is None else {"items": total})
    start = getattr(progress, "phase", None)
    if start is not None:
        start(label, total)


class StateMismatch(StorageError):
    """The store's saved engine state was made by a different engine than this one."""


def _file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _FILE_HASHES:
        _FILE_HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return _FILE_HASHES[key]


def maker_of(clusterer: Clusterer) -> dict[str, Any]:
    """The composite key of the engine that makes a clusterer state: the clusterer's name, its
    embedder (name and dimension), and a hash of its IDF table and of each model file."""
    key: dict[str, Any] = {"clusterer": clusterer.name}
    embedder = getattr(clusterer, "embedder", None)
    if hasattr(clusterer, "embedder"):
        key["embedder"] = "none" if embedder is None else f"{embedder.name}/{getattr(embedder, 'dim', '?')}"
        if callable(getattr(embedder, "key", None)):  # what its vectors depend on (its package's files)
            key["embedder files"] = embedder.key()
    files: dict[str, Path] = dict(getattr(clusterer, "model_files", {}) or {})
    if not files and type(clusterer).__name__ == "StoryClusterer":
        from .cluster.features import IDF_FILE
        from .cluster.join import MERGE_FILE, MODEL_FILE

        files = {"idf": IDF_FILE, "join model": MODEL_FILE, "merge model": MERGE_FILE}
    for name, path in sorted(files.items()):
        key[name] = _file_hash(Path(path)) if Path(path).exists() else "absent"
    return key


# The engine that made every state saved before states carried their maker (schema < 4): the
# wordllama embedder and the model files shipped until the session-7 retrain. A legacy state is
# compared against it, so a store made by those models is refused by today's, not silently mixed.
LEGACY_MAKER: dict[str, Any] = {"clusterer": "story-logit.v1", "embedder": "wordllama-l2-supercat.v1/256",
                                "idf": "184b4b227d3ca56f", "join model": "847fc5fe3f6a2e04",
                                "merge model": "b10e2a00564512ce"}


def as_saved(maker: dict[str, Any]) -> dict[str, Any]:
    """A saved maker with what it left unnamed filled in: makers saved before they named the
    embedder's files were made with wordllama's files of 0.3.7-0.4.0.post1 (``TRAINED_KEY``)."""
    if "embedder files" not in maker and maker.get("embedder") == f"{WordLlamaEmbedder.name}/256":
        return {**maker, "embedder files": TRAINED_KEY}
    return maker


def describe_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> str:
    parts = [f"{k} {saved.get(k, '(none)')} -> {current.get(k, '(none)')}"
             for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]
    return "; ".join(parts)


class Engine:
    """The pipeline over one store. Reads fall through to the store (``engine.counts()``)."""

    def __init__(self, store: SQLStore, settings: Settings | None = None, *, summarizer: Summarizer | None = None,
                 clusterer_factory: Callable[[Settings], Clusterer] = default_clusterer, command: str = "") -> None:
        self.store = store
        self.settings = settings or store.settings  # type: ignore[attr-defined]
        self._summarizer = summarizer
        self.clusterer_factory = clusterer_factory
        self.command = command
        self.pipeline_: Pipeline | None = None
        self._spare: Clusterer | None = None
        self._generation: int | None = None  # the store generation the pipeline is at
        self._batches_since_state = 0
        self.state_every = 32  # batches between clusterer checkpoints; later ones replay on load ...
        self.state_seconds = 60.0  # ... and at least this long between them: a save writes every open
        self._state_saved_at = time.monotonic()  # story, so on a big stream it would cost more than the
        # batches it covers; a killed run replays at most about a minute of decisions
        self._related_owed = False  # EarlyRefresh wrote vectors; the next refresh computes their lists
        self.refreshed_early_ = 0  # stories an ingest refreshed before its end (EarlyRefresh)
        # original article id -> (dense, terms) of the clusterer's vector, kept from a prepared
        # ingest batch until the article's story is refreshed (related.story_vector needs them)
        self.article_vectors_: dict[str, tuple[Any, dict[str, float]]] = {}
        self._vectors_by: Any = None  # the embedder that made them

    def __getattr__(self, name: str) -> Any:
        # an Engine stands wherever a store is read (counts, story, list_stories, ...)
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)

    @property
    def summarizer(self) -> Summarizer:
        if self._summarizer is None:
            self._summarizer = default_summarizer()
        return self._summarizer

    def close(self) -> None:
        self.store.close()

    # -- the one writer --------------------------------------------------------------------
    @contextmanager
    def writing(self, command: str = "") -> Iterator["Engine"]:
        """Hold the store's writer lock for a write session (re-entrant); reload the stream
        state if another process wrote since this engine last did."""
        with self.store.writer(command or self.command, wait=self.settings.writer_wait):
            if self.pipeline_ is not None and self.store.generation() != self._generation:
                self.forget()
            yield self

    def forget(self) -> None:
        """Drop the in-memory stream state; the next write reloads it from the store."""
        self.pipeline_ = None
        self._generation = None

    # -- loading the stream state ----------------------------------------------------------
    def _fresh_clusterer(self) -> Clusterer:
        """A new clusterer (the one :meth:`check_state` built, if unused: models load once)."""
        spare, self._spare = self._spare, None
        return spare if spare is not None else self.clusterer_factory(self.settings)

    def _new_pipeline(self) -> Pipeline:
        """The stream's stages with memory that does not grow with the store: the deduplicator
        indexes only its horizon's originals and asks the store for exact copies; the pipeline's
        id maps hold the current batch (a reprint's original further back is read from the store)."""
        dedup = MinHashDeduplicator(threshold=self.settings.dedup_threshold, num_perm=self.settings.dedup_num_perm,
                                    horizon_days=self.settings.dedup_horizon_days,
                                    horizon_items=self.settings.dedup_horizon_items,
                                    lookup=self.store.canonicals_by_hash)
        pipe = Pipeline(self.settings, dedup=dedup, clusterer=self._fresh_clusterer(),
                        summarizer=self._summarizer or _NoSummary(), keep_articles=False)
        pipe.story_of_ = _StoredStories(self.store)
        return pipe

    def maker(self, clusterer: Clusterer) -> str:
        return json.dumps(maker_of(clusterer), sort_keys=True)

    def check_state(self) -> None:
        """Raise :class:`StateMismatch` when the saved state was made by another engine."""
        saved = self.store.load_state(STATE_NAME)
        if saved is not None:
            self._spare = self.clusterer_factory(self.settings)
            self._check(saved, self._spare)

    def _check(self, saved: Any, clusterer: Clusterer) -> None:
        fix = ("run `storyline rebuild` to re-derive every story from the stored articles with this engine, "
               "or go back to the settings that made them")
        if saved.kind != clusterer.name:
            raise StateMismatch(f"{self.store.where} was clustered by {saved.kind}, this storyline uses "
                                f"{clusterer.name}; {fix}")
        old, new = as_saved(json.loads(saved.maker) if saved.maker else LEGACY_MAKER), maker_of(clusterer)
        if old != new:
            made = "a different engine" if saved.maker else "an earlier storyline that did not name its makers"
            raise StateMismatch(f"{self.store.where} was made by {made} ({describe_mismatch(old, new)}); {fix}")

    def _load(self) -> Pipeline:
        if self.pipeline_ is not None:
            return self.pipeline_
        pipe = self._new_pipeline()
        assert isinstance(pipe.dedup, MinHashDeduplicator) and pipe.clusterer is not None
        self._restore_dedup(pipe.dedup)
        saved = self.store.load_state(STATE_NAME)
        upto = 0
        if saved is not None:
            self._check(saved, pipe.clusterer)
            try:
                pipe.clusterer.set_state(state_codec.loads(saved.state))
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise StateMismatch(f"{self.store.where}: the saved {saved.kind} state cannot be read by this engine "
                                    f"({type(exc).__name__}: {exc}); run `storyline rebuild`") from exc
            upto = saved.upto_seq
        self._batches_since_state = self._replay(pipe.clusterer, upto)
        self.pipeline_, self._generation = pipe, self.store.generation()
        return pipe

    def _restore_dedup(self, dedup: MinHashDeduplicator) -> None:
        """Index the originals of the deduplicator's horizon again (their stored signatures, read
        by date), with its clock as saved, so it holds what it held when the store was written.
        Stored signatures made another way than this deduplicator's are made again first."""
        check_signatures(self.store, dedup.preparer())
        saved = self.store.get_checkpoint(DEDUP_CLOCK_KEY)
        clock = float(saved) if saved else article_time(parse_date(self.store.newest_original_date()), None)
        since = None
        if clock is not None and dedup.horizon_days is not None:
            try:  # two days' margin: the stored text keeps each date's own UTC offset
                since = datetime.fromtimestamp(clock - (dedup.horizon_days + 2) * 86400, timezone.utc).isoformat()
            except (OverflowError, ValueError, OSError):
                since = None
        rows = self.store.recent_signatures(since, dedup.horizon_items)
        dedup.restore({}, {}, {r[0]: r[3] for r in rows}, clock=clock,
                      times={r[0]: article_time(parse_date(r[1]), parse_date(r[2])) for r in rows})

    def _replay(self, clusterer: Clusterer, upto: int) -> int:
        """Feed the originals stored after the state checkpoint through the clusterer again, in
        the batches they were stored in; it is deterministic, so it lands where it was."""
        batches = 0
        for batch in _batches(self.store.originals(after_seq=upto)):
            clusterer.partial_fit(batch)
            batches += 1
        return batches

    # -- writing ---------------------------------------------------------------------------
    def add_articles(self, articles: Iterable[Article], *, batch_size: int = 256,
                     progress: Progress | None = None, refresh: bool = True, save_state: bool = True) -> IngestResult:
        """Store new articles, assign duplicates and stories, finish the stream's consolidation,
        then refresh changed summaries. Articles whose id is already stored are skipped, so
        re-ingesting adds nothing (and completes a run that was interrupted).

        From an input's second batch on, batches are prepared ahead (text stage, MinHash
        sketches, article vectors: :meth:`Pipeline.run_ahead`) in a helper process while this
        one decides and writes the current batch, in arrival order: the same decisions as in
        one process. The first is prepared here (loading the models the forked helper then
        shares) and decided while the helper prepares the second; an input of one batch starts
        no helper. The first two are committed before the input is read further (a reader that
        stops when told is asked again only then, a kill finds them stored); later it is read
        at most a few batches ahead of what is committed. From the third batch (an input longer
        than a feed poll's) another helper summarizes the stories the clusterer closes, and at
        the end of input the others while the consolidation runs
        (:class:`~storyline.refresh.EarlyRefresh`: only results whose story kept its members are
        written); the originals' vectors are kept for their stories' related-stories vectors.

        ``refresh=False``: the caller refreshes the summaries; ``save_state=False`` too: it also
        calls :meth:`checkpoint`, e.g. as ``refresh_stories(meanwhile=engine.checkpoint)``. The
        consolidation saves the clusterer's state in its own transaction (with the end of the
        pending consolidation), so that checkpoint finds nothing left to save after an ingest;
        it guards batches that no save has covered (docs/scale.md, session 25)."""
        result = IngestResult()
        early: EarlyRefresh | None = None
        with self.writing():
            source = self._fresh_batches(articles, batch_size, result)
            try:
                # two batches read, then no more until both are stored (a reader that stops when told is
                # asked again only then); an input of one batch is not worth a helper
                head = list(itertools.islice(source, 2))
                ahead = self._load().run_ahead() if len(head) == 2 else None
                if ahead is None:
                    for batch in itertools.chain(head, source):
                        self._add_batch(batch, result)
                        if progress:
                            progress(len(batch))
                else:
                    sent: deque[list[Article]] = deque()

                    def feed() -> Iterator[list[Article]]:
                        for batch in itertools.chain(head[1:], source):
                            sent.append(batch)
                            yield batch

                    # the first batch is prepared here, loading the models the forked helper then shares;
                    # it prepares the next batches while this one decides the first
                    first = self._load().prepare(head[0])
                    with closing(ahead.map(feed())) as prepared:
                        self._add_batch(head[0], result, first)
                        if progress:
                            progress(len(head[0]))
                        for n, ready in enumerate(prepared, 2):  # in order: the helper computes, decisions stay here
                            batch = sent.popleft()
                            if n == 3:  # longer than two batches (not a feed poll): summaries ahead too
                                early = EarlyRefresh.start(self)
                            self._add_batch(batch, result, ready, early)
                            if early is not None:
                                early.step()
                            if progress:
                                progress(len(batch))
                _phase(progress, "consolidating stories")
                self.consolidate(result, early)
            except BaseException:
                if early is not None:
                    early.finish(write=False)
                raise
            if early is not None:
                early.finish()
            if refresh:  # nothing left to save after the consolidation's save (see the docstring)
                self.refresh_stories(meanwhile=self.checkpoint, progress=progress)
            elif save_state:
                self.checkpoint()
        return result

    def _fresh_batches(self, articles: Iterable[Article], size: int, result: IngestResult) -> Iterator[list[Article]]:
        """``articles`` in batches of ``size``, without ids already stored or given twice in one
        batch (an id repeated in a later batch is dropped when that batch is decided: by then
        the pipeline knows every id stored before it, with no set of the run's ids kept here)."""
        batch: list[Article] = []
        for article in itertools.chain(articles, [None]):
            if article is not None:
                batch.append(article)
                if len(batch) < size:
                    continue
            if not batch:
                break
            result.seen += len(batch)
            stored = self.store.existing_ids([a.id for a in batch])
            taken: set[str] = set()
            fresh = []
            for art in batch:
                if art.id in stored or art.id in taken:
                    result.already_stored += 1
                    continue
                taken.add(art.id)
                fresh.append(art)
            if fresh:
                yield fresh
            batch = []

    def _add_batch(self, batch: Sequence[Article], result: IngestResult, prepared: Prepared | None = None,
                   early: EarlyRefresh | None = None) -> None:
        pipe = self._load()
        assert pipe.clusterer is not None and isinstance(pipe.dedup, MinHashDeduplicator)
        stored = self.store.existing_ids([a.id for a in batch])  # e.g. given again in a batch read ahead
        keep = [i for i, a in enumerate(batch) if a.id not in stored]
        result.already_stored += len(batch) - len(keep)
        if not keep:
            return
        fresh = [batch[i] for i in keep]
        if prepared is not None and len(keep) < len(batch):
            prepared = prepared.subset(keep)
        elif prepared is None:  # prepared here as a helper would: the summary refresh reuses its article vectors
            prepared = pipe.prepare(fresh)
        merges_before = dict(pipe.clusterer.merges_)
        try:
            stories = pipe.add(fresh, prepared)
            with self.store.transaction():
                now = now_iso()
                batch_no = self.store.next_batch()
                merged = self._record_clusterer_merges(
                    pipe.clusterer, {o: n for o, n in pipe.clusterer.merges_.items() if merges_before.get(o) != n}, now)
                canon = [pipe.canonical_[a.id] for a in fresh]
                overrides = self.store.overrides_of(canon)
                where = self.store.resolve_story_ids(stories)  # an editor's merge redirects (indexed)
                self._keep_vectors(pipe.clusterer, fresh, canon, prepared)
                rows = []
                for art, story, c in zip(fresh, stories, canon):
                    story = overrides.get(c) or where[story]
                    rows.append((art, c, story, pipe.dedup.signature(art.id) if c == art.id else None))
                    result.new += 1
                    result.reprints += c != art.id
                    result.stories_touched.add(story)
                self.store.insert_articles(rows, batch=batch_no, now=now)
                self.store.touch_stories((story for _, _, story, _ in rows), now)
                if early is not None:
                    early.touched(itertools.chain((story for _, _, story, _ in rows), *merged))
                self.store.put_checkpoint(PENDING_KEY, "consolidate")
                if pipe.dedup.clock_ is not None:
                    self.store.put_checkpoint(DEDUP_CLOCK_KEY, repr(pipe.dedup.clock_))
                self._batches_since_state += 1
                if (self._batches_since_state >= self.state_every
                        and time.monotonic() - self._state_saved_at >= self.state_seconds):
                    self._save_state(pipe.clusterer)
                self._generation = self.store.bump_generation()
        except BaseException:
            self.forget()  # in-memory state is ahead of the store: reload next time
            raise
        for ids in (pipe.articles_, pipe.canonical_, pipe.story_of_):
            ids.clear()  # stored now: what a later batch needs of them it reads from the store

    def _keep_vectors(self, clusterer: Clusterer, fresh: Sequence[Article], canon: Sequence[str],
                      prepared: Prepared | None) -> None:
        """Remember the originals' vectors computed ahead (their stories' related-stories vectors
        are made of them), when they are what :func:`related.story_vector` would compute: the
        default IDF table and the embedder the refresh uses (the clusterer's)."""
        vectors = prepared.cluster if prepared is not None else None
        if vectors is None or getattr(clusterer, "idf", "") is not None or not hasattr(clusterer, "embedder"):
            return
        if self._vectors_by is not clusterer.embedder:  # type: ignore[attr-defined]
            self.article_vectors_.clear()
            self._vectors_by = clusterer.embedder  # type: ignore[attr-defined]
        for art, c, vec in zip(fresh, canon, vectors, strict=True):
            if c == art.id:
                self.article_vectors_[art.id] = (vec.dense, vec.terms)

    def consolidate(self, result: IngestResult | None = None, early: EarlyRefresh | None = None) -> dict[str, str]:
        """End of input: record the stories the clusterer merges now, and the ones it splits
        (the articles it moves out of a story follow it in the store, and the split is recorded
        like a merge). Runs when this call added articles or when an earlier run stored batches
        but died before consolidating."""
        if not (result and result.new) and self.store.get_checkpoint(PENDING_KEY) is None:
            return {}
        with self.writing():
            pipe = self._load()
            assert pipe.clusterer is not None
            try:
                moved_before = dict(getattr(pipe.clusterer, "moved_", {}))
                splits_before = dict(getattr(pipe.clusterer, "splits_", {}))
                if early is not None:  # summarized while the consolidation decides (those it changes are not written)
                    early.send_all()
                merged = pipe.finish()
                with self.store.transaction():
                    now = now_iso()
                    pairs = self._record_clusterer_merges(pipe.clusterer, merged, now)
                    touched = self._record_clusterer_splits(pipe.clusterer, moved_before, splits_before, now)
                    if early is not None:  # results computed before these changes are not written
                        early.touched(itertools.chain(touched, *pairs))
                    if result is not None:
                        result.stories_touched.update(touched)
                    self._save_state(pipe.clusterer)
                    self.store.put_checkpoint(PENDING_KEY, None)
                    self._generation = self.store.bump_generation()
            except BaseException:
                self.forget()
                raise
        if result is not None:
            for old, new in pairs:
                result.stories_touched.discard(old)
                result.stories_touched.add(new)
        return dict(pairs)

    def _save_state(self, clusterer: Clusterer) -> None:
        """Checkpoint the clusterer (inside the caller's transaction)."""
        with collector_paused():  # millions of new containers, no cycle: half of get_state's time at 10k was collections
            state = state_codec.dumps_utf8(clusterer.get_state())
        self.store.save_state(STATE_NAME, kind=clusterer.name, maker=self.maker(clusterer), state=state)
        self._batches_since_state = 0
        self._state_saved_at = time.monotonic()

    def checkpoint(self) -> None:
        """Save the clusterer's state now, so the next start needs no replay."""
        pipe = self.pipeline_
        if pipe is not None and pipe.clusterer is not None and self._batches_since_state:
            with self.writing(), self.store.transaction():
                self._save_state(pipe.clusterer)
                self._generation = self.store.bump_generation()

    def _record_clusterer_splits(self, clusterer: Clusterer, moved_before: dict[str, str],
                                 splits_before: dict[str, str], now: str) -> set[str]:
        """Follow the clusterer's splits since ``moved_before``/``splits_before`` in the store:
        each moved original (and its reprints) goes to its new story (an editor's placement
        wins), the split is recorded (``story_splits``), and both stories are marked dirty."""
        moved = {a: resolve(n, clusterer.merges_) for a, n in getattr(clusterer, "moved_", {}).items()
                 if moved_before.get(a) != n}
        splits = {n: o for n, o in getattr(clusterer, "splits_", {}).items() if splits_before.get(n) != o}
        if not moved and not splits:
            return set()
        targets = self.store.resolve_story_ids(moved.values())  # an editor's merges still redirect
        moved = {a: targets[story] for a, story in moved.items()}
        self.store.move_originals(moved)
        touched = set(moved.values())
        for new, old in splits.items():
            old, new = resolve(old, clusterer.merges_), resolve(new, clusterer.merges_)
            if old != new:
                self.store.record_split(old, new, now, "clusterer")
                touched.update((old, new))
        where = self.store.resolve_story_ids(touched)
        self.store.touch_stories(where.values(), now)
        return set(where.values())

    def _record_clusterer_merges(self, clusterer: Clusterer, merged: dict[str, str], now: str) -> list[tuple[str, str]]:
        pairs = [(old, resolve(new, clusterer.merges_)) for old, new in merged.items()]
        for old, new in pairs:
            self.store.record_merge(old, new, now, "clusterer")
        return pairs

    # -- summaries -------------------------------------------------------------------------
    def refresh_stories(self, story_ids: Iterable[str] | None = None, *, meanwhile: Callable[[], None] | None = None,
                        progress: Progress | None = None) -> int:
        """Recompute headline, summary and counts of dirty (or the given) stories; a pinned
        headline replaces the computed one. A changed headline is added to the story's headline
        history, and the story's vector (for related stories) is rewritten.

        Stories go in chunks of 64, one transaction each. When there are more than two chunks
        and ``Settings.workers`` allows, helper processes (``workers`` + 1: this one only reads
        and writes) compute the summaries and vectors of the next chunks while this process
        writes the finished ones; each story's result is what this process would compute.
        ``meanwhile`` (the ingest's state checkpoint) runs once the helpers have their first
        chunks (first, without helpers). ``progress`` counts the stories written, then the
        related lists (see :data:`Progress`)."""
        ids = self.store.dirty_story_ids() if story_ids is None else list(dict.fromkeys(story_ids))
        chunks = [ids[i : i + REFRESH_CHUNK] for i in range(0, len(ids), REFRESH_CHUNK)]
        embedder = related.embedder_for(self)
        work = (self.summarizer, embedder, self.settings.max_words)
        count = 0
        if ids:
            _phase(progress, "summarizing stories", len(ids))

        def save(chunk: list[str], members: dict[str, Story], results: list[tuple[Summary, tuple[Any, ...]]]) -> int:
            done = self._save_refreshed(chunk, members, results)
            if progress:
                progress(len(chunk))
            return done

        if len(chunks) <= 2 or self.settings.workers < 1:
            if meanwhile is not None:
                meanwhile()
            for chunk in chunks:
                members = self.store.stories_members(chunk)
                count += save(chunk, members, refresh(work, self._refresh_items(chunk, members)))
            self._done_refreshing(story_ids)
            self._refresh_related(ids, progress)
            return count
        context = get_context("fork" if sys.platform == "linux" else "spawn")
        depth = 2 * (self.settings.workers + 1)
        with ProcessPoolExecutor(self.settings.workers + 1, mp_context=context, initializer=start_refresher,
                                 initargs=(work,)) as pool:
            pending: deque[tuple[list[str], dict[str, Story], Future[list[tuple[Summary, tuple[Any, ...]]]]]] = deque()
            try:
                for chunk in chunks:
                    members = self.store.stories_members(chunk)
                    pending.append((chunk, members, pool.submit(refresh_in_worker, self._refresh_items(chunk, members))))
                    if len(pending) == depth and meanwhile is not None:
                        meanwhile, then = None, meanwhile
                        then()
                    if len(pending) > depth:
                        count += save(*result_of(pending.popleft()))
            finally:
                if meanwhile is not None:
                    meanwhile()
            while pending:
                count += save(*result_of(pending.popleft()))
        self._done_refreshing(story_ids)
        self._refresh_related(ids, progress)
        return count

    def _refresh_items(self, chunk: list[str], members: dict[str, Story]) -> list[tuple[Story, list[Any] | None]]:
        """Each story of ``chunk`` to refresh, with its articles' vectors when all are known
        (:attr:`article_vectors_`), so the refresh need not compute them again."""
        usable = self.article_vectors_ and related.embedder_for(self) is self._vectors_by
        out = []
        for s in chunk:
            if s in members:
                known = [self.article_vectors_.get(a.id) for a in members[s].articles] if usable else [None]
                out.append((members[s], None if None in known else known))
        return out

    def _done_refreshing(self, story_ids: Iterable[str] | None) -> None:
        """After a refresh of every dirty story no kept article vector is needed any more."""
        if story_ids is None:
            self.article_vectors_.clear()

    def _refresh_related(self, ids: list[str], progress: Progress | None = None) -> None:
        """The related lists the just-written vectors owe (:mod:`storyline.related`), with those of
        stories refreshed early during an ingest (:class:`EarlyRefresh`), a chunk of stories close
        in time per transaction, so memory stays that of one chunk's window."""
        owed, self._related_owed = self._related_owed, False
        if not (ids or owed):
            return
        if getattr(progress, "phase", None) is not None or log.isEnabledFor(logging.INFO):
            _phase(progress, "related stories", related.owed_count(self.store))
        helpers = self.settings.workers + 1 if self.settings.workers >= 1 else 0  # for many owed (a long ingest)
        related.refresh_all_pending(self.store, settings=self.settings, helpers=helpers, progress=progress)

    def _save_refreshed(self, chunk: list[str], members: dict[str, Story],
                        results: list[tuple[Summary, tuple[Any, ...]]]) -> int:
        """Write one chunk's refreshed stories (in one transaction); stories with no articles
        left are deleted."""
        stories = [members[s] for s in chunk if s in members]
        for story in stories:
            for article in story.articles:
                self.article_vectors_.pop(article.id, None)
        done = []
        for story, (summary, _) in zip(stories, results, strict=True):
            story.summary = editorial.apply_pin(self.store, story.id, summary)
            done.append((story, story.summary))
        with self.store.transaction():
            for story_id in chunk:
                if story_id not in members:
                    self.store.delete_story(story_id)
            self.store.save_stories(done)
            for story, _ in done:
                editorial.record_headline(self.store, story)  # the story page's headline history
            related.save_vectors(self.store, [vector for _, vector in results])  # related stories (storyline.related)
        return len(done)

    # -- editorial actions -----------------------------------------------------------------
    def merge_stories(self, story_id: str, into: str, *, note: str = "") -> str:
        """An editor folds ``story_id`` into ``into`` (see :func:`store.editorial.merge_stories`)."""
        new = editorial.merge_stories(self.store, story_id, into, note=note)
        self.refresh_stories([new])
        return new

    def split_article(self, story_id: str, article_id: str, *, note: str = "") -> str:
        """An editor moves an original (and its reprints) out of a story into a new one."""
        source = self.store.resolve_story_id(story_id)
        target = editorial.split_article(self.store, story_id, article_id, note=note)
        self.refresh_stories([source, target])
        return target

    def pin_headline(self, story_id: str, headline: str, *, note: str = "") -> str:
        """An editor pins a headline (empty: unpin)."""
        target = editorial.pin_headline(self.store, story_id, headline, note=note)
        self.refresh_stories([target])
        return target

    def hide_story(self, story_id: str, *, hidden: bool = True, note: str = "") -> str:
        """An editor hides a story from readers (``hidden=False``: shows it again); no summary changes."""
        return editorial.hide_story(self.store, story_id, hidden=hidden, note=note)

    def undo(self, log_id: int, *, note: str = "") -> str:
        """An editor undoes the logged action ``log_id`` (see :func:`store.editorial.undo`);
        returns the story to show ('' for a registry change)."""
        story, touched = editorial.undo(self.store, log_id, note=note)
        if touched:
            self.refresh_stories(touched)
        return story

    # -- rebuild ---------------------------------------------------------------------------
    def rebuild(self, *, progress: Progress | None = None) -> dict[str, int]:
        """Re-derive every story from the stored articles with this engine's clusterer.

        Duplicates stay as stored. Originals go through a fresh clusterer in the batches they
        were stored in, then the end-of-input consolidation. Each new story keeps the id of the
        old story it shares most articles with (each old id goes to at most one new story); an
        old story whose articles all went elsewhere is recorded as merged into the story holding
        most of them, and a new story that took articles from an old one that lives on is
        recorded as split from it. Editors' overrides (split-out articles) are kept.
        """
        with self.writing("storyline rebuild"):
            self.forget()
            clusterer = self.clusterer_factory(self.settings)
            rows = self.store.stream_rows()
            assigned: dict[str, str] = {}
            for batch in _batches(self.store.originals()):
                assigned.update(zip((a.id for a in batch), clusterer.partial_fit(batch)))
                if progress:
                    progress(len(batch))
            clusterer.consolidate()
            old_of = {r[0]: r[3] for r in rows}
            canon_of = {r[0]: r[1] for r in rows}
            new_of = {a: placed(clusterer, canon_of[a], assigned[canon_of[a]]) for a in old_of}
            overlap = Counter((new_of[a], old_of[a]) for a in old_of)
            target: dict[str, str] = {}
            taken: set[str] = set()
            for (new, old), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
                if new not in target and old not in taken:
                    target[new], _ = old, taken.add(old)
            live_old = set(old_of.values())
            for new in sorted(set(new_of.values()) - set(target)):
                name, n = new, 1
                while name in taken or (name in live_old and name not in target.values()):
                    n += 1
                    name = editorial.story_id_for(f"{new}#rebuild{n}")
                target[new], _ = name, taken.add(name)
            overrides = self.store.overrides()
            moves = {a: overrides.get(canon_of[a]) or target[new_of[a]] for a in old_of}
            now = now_iso()
            stats = {"articles": len(moves), "moved": sum(moves[a] != old_of[a] for a in moves),
                     "stories": len(set(moves.values())), "merges": 0, "splits": 0}
            with self.store.transaction():
                self.store.move_articles({a: s for a, s in moves.items() if s != old_of[a]})
                for story in set(moves.values()):
                    self.store.forget_merge(story)
                for new, name in target.items():
                    if new != name and new not in set(moves.values()):
                        self.store.redirect(new, name, now, "rebuild")
                by_old: dict[str, Counter[str]] = {}
                for a, old in old_of.items():
                    by_old.setdefault(old, Counter())[moves[a]] += 1
                kept = set(moves.values())
                for old, where in sorted(by_old.items()):
                    if old not in kept:
                        self.store.redirect(old, where.most_common(1)[0][0], now, "rebuild")
                        stats["merges"] += 1
                    for part in sorted(where):
                        if old in kept and part != old:
                            self.store.record_split(old, part, now, "rebuild")
                            stats["splits"] += 1
                for story in kept:
                    self.store.touch_story(story, now)
                for row in self.store.list_stories(limit=None):
                    if row["id"] not in kept:
                        self.store.delete_story(row["id"])
                self._save_state(clusterer)
                self.store.put_checkpoint(PENDING_KEY, None)
                self.store.bump_generation()
            self.forget()
            self.refresh_stories()
        return stats


class _StoredStories(dict[str, str]):
    """Original id -> its story, for the engine's pipeline: the current batch's originals as the
    clusterer placed them, an earlier original (the one a reprint copies) read from the store,
    where it sits in its current story (merges and splits applied, as the pipeline would)."""

    def __init__(self, store: SQLStore) -> None:
        super().__init__()
        self.store = store

    def __missing__(self, article_id: str) -> str:
        story = self.store.story_of_article(article_id)
        if story is None:
            raise KeyError(article_id)
        return story


class _NoSummary:
    """Placeholder summarizer for the engine's pipeline: the engine summarizes stored stories."""

    name = "none"

    def __call__(self, articles: Sequence[Article], max_words: int) -> Summary:  # pragma: no cover
        raise RuntimeError("the engine summarizes through Engine.refresh_stories")


def _batches(originals: Iterable[tuple[int, Article]]) -> Iterator[list[Article]]:
    batch: list[Article] = []
    current: int | None = None
    for number, art in originals:
        if batch and number != current:
            yield batch
            batch = []
        current = number
        batch.append(art)
    if batch:
        yield batch


def open_engine(settings: Settings, **kwargs: Any) -> Engine:
    """The engine over the store named by ``settings`` (see :func:`storyline.store.open_store`)."""
    return Engine(open_store(settings), settings, **kwargs)


__all__ = ["Engine", "IngestResult", "StateMismatch", "maker_of", "open_engine"]
