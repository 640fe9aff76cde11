"""Where a backfill's result enters the store: :func:`write_results`, the one function that writes.

The driver is the single writer. It streams the assigned articles in arrival order, in batches,
each batch one transaction: articles (ids already stored are skipped, so a rerun or a retried
write adds nothing), the MinHash signatures of originals (live ingest's deduplicator is rebuilt
from them), story rows marked for a summary, story merges (the clusterers' and the window links),
and last the clusterer state that live ingest resumes from. Summaries are then refreshed by the
engine like after any ingest.

It writes as an engine write: under the store's writer lock (``Engine.writing``), through the
store's methods (``insert_articles``, ``touch_stories``, ``redirect``, ``save_state``), bumping
the store's generation in each transaction. The saved clusterer state carries the engine's maker
key (``Engine.maker``), so a later ``ingest``/``watch`` resumes from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..cluster import resolve
from ..dedup.minhash import sketch_blob
from ..engine import STATE_NAME
from ..models import Article
from ..store import state as state_codec
from ..store.base import now_iso

STATE_KEY = "backfill:clusterer"  # checkpoint: the store's clusterer state was written by a backfill
_BATCH = 1000


@dataclass(slots=True)
class Assigned:
    """One article with its place: the original it copies (its own id when original) and story."""

    article: Article
    canonical: str
    story: str
    sketch: Any = None  # the original's MinHash (values, shingle count), for the signature table


@dataclass
class WriteResult:
    new: int = 0
    reprints: int = 0
    already_stored: int = 0
    stories: set[str] = field(default_factory=set)


def _batches(rows: Iterable[Assigned]) -> Iterator[list[Assigned]]:
    batch: list[Assigned] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def check_store(store: Any) -> None:
    """Refuse a store that live ingest has written: a backfill builds the archive's stories first,
    then ``watch`` carries on from them (see docs/backfill.md)."""
    from ..errors import StorageError

    articles = store.counts()["articles"]
    if articles and store.get_checkpoint(STATE_KEY) is None:
        raise StorageError(
            f"{store.where} already holds {articles} articles from `storyline ingest`/`watch`; backfill into a new "
            "--data-dir (then `storyline watch` carries on from the backfilled stories)")


def write_results(engine: Any, rows: Iterable[Assigned], merges: dict[str, str], state: dict[str, Any],
                  clusterer: Any) -> WriteResult:
    """Write assigned articles, merges and the clusterer state through the engine's store (see
    module doc). Holds the store's writer lock throughout; every transaction bumps the store's
    generation, so a running writer (``watch``) reloads before its next write."""
    store = engine.store
    result = WriteResult()
    with engine.writing("backfill"):
        for batch in _batches(rows):
            stored = store.existing_ids([r.article.id for r in batch])
            now = now_iso()
            fresh = []
            for row in batch:
                if row.article.id in stored:
                    result.already_stored += 1
                    continue
                art, story = row.article, resolve(row.story, merges)
                signature = sketch_blob(row.sketch) if row.canonical == art.id else None
                fresh.append((art, row.canonical, story, signature))
                result.new += 1
                result.reprints += row.canonical != art.id
                result.stories.add(story)
            if not fresh:
                continue
            with store.transaction():
                store.insert_articles(fresh, batch=store.next_batch(), now=now)
                store.touch_stories({story for _, _, story, _ in fresh}, now)
                store.bump_generation()
        now = now_iso()
        with store.transaction():
            known = store.merges()
            for old in merges:
                new = resolve(old, merges)
                if known.get(old) != new:
                    store.redirect(old, new, now, "backfill")  # articles were stored under ``new``
            if state:
                # the engine's own key (clusterer, embedder, model hashes): `ingest`/`watch` resume from it
                store.save_state(STATE_NAME, kind=clusterer.name, maker=engine.maker(clusterer),
                                 state=state_codec.dumps(state))
                store.set_checkpoint(STATE_KEY, now)
            store.bump_generation()
    engine.forget()  # the next live write loads the state and signatures written here
    return result


__all__ = ["Assigned", "WriteResult", "write_results", "check_store", "STATE_KEY"]
