"""Where a backfill's result enters the store: :func:`write_results`, the one function that writes.

The driver is the single writer. It streams the assigned articles in arrival order, in batches,
each batch one transaction: articles (ids already stored are skipped, so a rerun or a retried
write adds nothing), the MinHash signatures of originals (live ingest's deduplicator is rebuilt
from them), story rows marked for a summary, story merges (the clusterers' and the window links),
and last the clusterer state that live ingest resumes from. Summaries are then refreshed by the
store like after any ingest.

This goes through the store's current interface (its transaction and tables); when the engine's
single writer lands, this function is the one place to repoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

import numpy as np

from ..cluster import resolve
from ..models import Article
from ..store import state as state_codec

STATE_KEY = "backfill:clusterer"  # checkpoint: the store's clusterer state was written by a backfill
_BATCH = 1000
_COLUMNS = ("id", "url", "origin", "source", "title", "text", "author", "published", "fetched_at", "language",
            "content_hash")


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


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _signature(sketch: Any) -> bytes | None:
    if sketch is None:
        return None
    values, size = sketch
    return np.append(values, size).astype("<u8").tobytes()


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
            f"{store.path} already holds {articles} articles from `storyline ingest`/`watch`; backfill into a new "
            "--data-dir (then `storyline watch` carries on from the backfilled stories)")


def write_results(store: Any, rows: Iterable[Assigned], merges: dict[str, str], state: dict[str, Any],
                  clusterer_name: str) -> WriteResult:
    """Write assigned articles, merges and the clusterer state through the store (see module doc)."""
    result = WriteResult()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    db = store.db
    for batch in _batches(rows):
        ids = [r.article.id for r in batch]
        stored = store._existing_ids(ids)
        with store.transaction():
            number = db.execute("SELECT coalesce(max(added_batch), 0) + 1 FROM articles").fetchone()[0]
            for row in batch:
                if row.article.id in stored:
                    result.already_stored += 1
                    continue
                art, story = row.article, resolve(row.story, merges)
                db.execute(
                    f"INSERT INTO articles ({', '.join(_COLUMNS)}, canonical_id, story_id, added_at, added_batch) "
                    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 4))})",
                    (art.id, art.url, art.origin, art.source, art.title, art.text, art.author, _iso(art.published),
                     _iso(art.fetched_at), art.language, art.content_hash, row.canonical, story, now, number))
                signature = _signature(row.sketch) if row.canonical == art.id else None
                if signature is not None:
                    db.execute("INSERT INTO minhash_signatures VALUES (?, ?)", (art.id, signature))
                db.execute("INSERT INTO stories (id, updated_at, dirty) VALUES (?, ?, 1) "
                           "ON CONFLICT(id) DO UPDATE SET dirty = 1, updated_at = excluded.updated_at", (story, now))
                result.new += 1
                result.reprints += row.canonical != art.id
                result.stories.add(story)
    with store.transaction():
        db.executemany("INSERT OR IGNORE INTO story_merges (old_id, new_id, merged_at, reason) VALUES (?, ?, ?, ?)",
                       [(old, resolve(old, merges), now, "backfill") for old in merges])
        if state:
            upto = db.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0]
            db.execute(
                "INSERT INTO engine_state (name, kind, state, upto_seq) VALUES ('clusterer', ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, state = excluded.state, upto_seq = excluded.upto_seq",
                (clusterer_name, state_codec.dumps(state), upto))
            db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (STATE_KEY, now))
    store._forget_engine()  # the next live ingest loads the state and signatures written here
    return result


__all__ = ["Assigned", "WriteResult", "write_results", "check_store", "STATE_KEY"]
