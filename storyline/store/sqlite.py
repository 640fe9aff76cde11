"""SQLite storage: one file in the data directory, WAL mode, one writer.

Every ingest batch — articles, their duplicate and story assignments, the clusterer's state and
any merges — is written in one ``BEGIN IMMEDIATE`` transaction, so a process killed at any point
leaves the database as it was after the last whole batch, and a rerun picks up the rest.
Summaries are refreshed after the batches for stories marked ``dirty``; a kill there leaves them
dirty and the next run refreshes them.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..cluster import Clusterer, default_clusterer, resolve
from ..config import Settings
from ..dedup import MinHashDeduplicator
from ..errors import StorageError
from ..ingest.dates import parse_date
from ..models import Article, FeedState, Story, Summary, SummarySentence
from ..pipeline import prepare
from ..summarize import Summarizer, default_summarizer
from . import editorial
from .. import related as _related
from . import state as state_codec

Progress = Callable[[int], None]
_ARTICLE_COLUMNS = (
    "id", "url", "origin", "source", "title", "text", "author", "published", "fetched_at",
    "language", "content_hash", "fetched_url",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) for every migration shipped with the package, in order."""
    folder = resources.files("storyline.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


@dataclass
class IngestResult:
    """What one ``add_articles`` call did."""

    seen: int = 0
    new: int = 0
    reprints: int = 0
    already_stored: int = 0
    stories_touched: set[str] = field(default_factory=set)


class SQLiteStore:
    """Articles, stories and engine state in ``<data_dir>/storyline.db``."""

    def __init__(self, settings: Settings, *, summarizer: Summarizer | None = None,
                 clusterer_factory: Callable[[Settings], Clusterer] = default_clusterer) -> None:
        self.settings = settings
        self.path = settings.sqlite_path
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database at {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._summarizer = summarizer
        self._clusterer_factory = clusterer_factory
        self._dedup: MinHashDeduplicator | None = None
        self._clusterer: Clusterer | None = None
        self._batches_since_state = 0
        self.state_every = 32  # batches between clusterer checkpoints; later ones replay on load
        self.migrate()

    # -- schema ---------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every shipped migration newer than the database, each in its own transaction."""
        shipped = migrations()
        current = self.schema_version
        newest = shipped[-1][0] if shipped else 0
        if current > newest:
            raise StorageError(
                f"{self.path} has schema version {current}, newer than this storyline ({newest}); upgrade storyline"
            )
        for version, sql in shipped:
            if version <= current:
                continue
            with self.transaction():
                for statement in _statements(sql):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # -- engine ---------------------------------------------------------------------------
    @property
    def summarizer(self) -> Summarizer:
        if self._summarizer is None:
            self._summarizer = default_summarizer()
        return self._summarizer

    def _load_engine(self) -> tuple[MinHashDeduplicator, Clusterer]:
        if self._dedup is not None and self._clusterer is not None:
            return self._dedup, self._clusterer
        dedup = MinHashDeduplicator(threshold=self.settings.dedup_threshold, num_perm=self.settings.dedup_num_perm)
        rows = self.db.execute("SELECT id, canonical_id, content_hash FROM articles ORDER BY seq").fetchall()
        sigs = {r[0]: bytes(r[1]) for r in self.db.execute("SELECT article_id, signature FROM minhash_signatures")}
        dedup.restore({r[0]: r[1] for r in rows}, {r[2]: r[1] for r in rows}, sigs)
        clusterer = self._clusterer_factory(self.settings)
        row = self.db.execute("SELECT kind, state, upto_seq FROM engine_state WHERE name = 'clusterer'").fetchone()
        upto = 0
        if row is not None and row["kind"] == clusterer.name:
            clusterer.set_state(state_codec.loads(row["state"]))
            upto = int(row["upto_seq"])
        elif row is not None:
            raise StorageError(
                f"{self.path} was clustered by {row['kind']}, this storyline uses {clusterer.name}; "
                "start a new --data-dir or re-ingest into an empty one"
            )
        self._replay(clusterer, upto)
        self._dedup, self._clusterer = dedup, clusterer
        return dedup, clusterer

    def _replay(self, clusterer: Clusterer, upto: int) -> None:
        """Feed the originals stored after the state checkpoint through the clusterer again, in
        the batches they were stored in; it is deterministic, so it lands where it was."""
        rows = self.db.execute(
            "SELECT * FROM articles WHERE seq > ? AND canonical_id = id ORDER BY seq", (upto,)
        ).fetchall()
        batch: list[Article] = []
        for i, row in enumerate(rows):
            batch.append(_article(row))
            if i + 1 == len(rows) or rows[i + 1]["added_batch"] != row["added_batch"]:
                clusterer.partial_fit(batch)
                batch = []
        self._batches_since_state = len({r["added_batch"] for r in rows})

    def _forget_engine(self) -> None:
        self._dedup = self._clusterer = None

    # -- writing --------------------------------------------------------------------------
    def add_articles(self, articles: Iterable[Article], *, batch_size: int = 256,
                     progress: Progress | None = None, refresh: bool = True) -> IngestResult:
        """Store new articles, assign duplicates and stories, then refresh changed summaries.

        Articles whose id is already stored are skipped, so re-ingesting adds nothing.
        """
        result = IngestResult()
        batch: list[Article] = []
        for article in articles:
            batch.append(article)
            if len(batch) >= batch_size:
                self._add_batch(batch, result)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            self._add_batch(batch, result)
            if progress:
                progress(len(batch))
        self._consolidate(result)
        self.checkpoint()
        if refresh:
            self.refresh_stories()
        return result

    def _add_batch(self, batch: Sequence[Article], result: IngestResult) -> None:
        result.seen += len(batch)
        ids = [a.id for a in batch]
        stored = self._existing_ids(ids)
        fresh: list[Article] = []
        seen_now: set[str] = set()
        for art in batch:
            if art.id in stored or art.id in seen_now:
                result.already_stored += 1
                continue
            seen_now.add(art.id)
            fresh.append(prepare(art))
        if not fresh:
            return
        dedup, clusterer = self._load_engine()
        merges_before = dict(clusterer.merges_)
        try:
            canonical = dedup.partial_fit(fresh).canonical
            originals = [a for a, c in zip(fresh, canonical) if a.id == c]
            story_of = dict(zip((a.id for a in originals), clusterer.partial_fit(originals)))
            with self.transaction():
                self._write_batch(fresh, canonical, story_of, dedup, clusterer, merges_before, result)
        except BaseException:
            self._forget_engine()  # in-memory state is ahead of the database: reload next time
            raise

    def _consolidate(self, result: IngestResult) -> None:
        """End of a run: record the stories the clusterer merges now (see ``consolidate``)."""
        if self._clusterer is None or not result.new:
            return
        try:
            merged = self._clusterer.consolidate()
            if merged:
                with self.transaction():
                    for old, new in self._record_clusterer_merges(self._clusterer, merged, _now()):
                        result.stories_touched.discard(old)
                        result.stories_touched.add(new)
                    self._save_state(self._clusterer)
        except BaseException:
            self._forget_engine()
            raise

    def _write_batch(self, fresh: Sequence[Article], canonical: Sequence[str], story_of: dict[str, str],
                     dedup: MinHashDeduplicator, clusterer: Clusterer, merges_before: dict[str, str],
                     result: IngestResult) -> None:
        now = _now()
        batch_no = self.db.execute("SELECT coalesce(max(added_batch), 0) + 1 FROM articles").fetchone()[0]
        self._record_clusterer_merges(clusterer, {o: n for o, n in clusterer.merges_.items() if merges_before.get(o) != n}, now)
        # story_merges holds the clusterer's merges and the editors': resolving through it keeps
        # an editor's merge when the clusterer still knows the merged-away story
        merges = {r[0]: r[1] for r in self.db.execute("SELECT old_id, new_id FROM story_merges")}
        for art, canon in zip(fresh, canonical):
            story = story_of.get(art.id) or self._story_of_article(canon, story_of)
            story = resolve(story, merges)
            self.db.execute(
                f"INSERT INTO articles ({', '.join(_ARTICLE_COLUMNS)}, canonical_id, story_id, added_at, added_batch) "
                f"VALUES ({', '.join('?' * (len(_ARTICLE_COLUMNS) + 4))})",
                (art.id, art.url, art.origin, art.source, art.title, art.text, art.author,
                 _iso(art.published), _iso(art.fetched_at), art.language, art.content_hash,
                 art.fetched_url or art.url, canon, story, now,
                 batch_no),
            )
            sig = dedup.signature(art.id) if canon == art.id else None
            if sig is not None:
                self.db.execute("INSERT INTO minhash_signatures VALUES (?, ?)", (art.id, sig))
            self.db.execute(
                "INSERT INTO stories (id, updated_at, dirty) VALUES (?, ?, 1) "
                "ON CONFLICT(id) DO UPDATE SET dirty = 1, updated_at = excluded.updated_at",
                (story, now),
            )
            result.new += 1
            result.reprints += canon != art.id
            result.stories_touched.add(story)
        self._batches_since_state += 1
        if self._batches_since_state >= self.state_every:
            self._save_state(clusterer)

    def _save_state(self, clusterer: Clusterer) -> None:
        """Checkpoint the clusterer (inside the caller's transaction)."""
        upto = self.db.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0]
        self.db.execute(
            "INSERT INTO engine_state (name, kind, state, upto_seq) VALUES ('clusterer', ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, state = excluded.state, upto_seq = excluded.upto_seq",
            (clusterer.name, state_codec.dumps(clusterer.get_state()), upto),
        )
        self._batches_since_state = 0

    def checkpoint(self) -> None:
        """Save the clusterer's state now, so the next start needs no replay."""
        if self._clusterer is not None and self._batches_since_state:
            with self.transaction():
                self._save_state(self._clusterer)

    def _record_clusterer_merges(self, clusterer: Clusterer, merged: dict[str, str], now: str) -> list[tuple[str, str]]:
        """Record the clusterer's new merges (old id -> the id it resolves to now)."""
        pairs = [(old, resolve(new, clusterer.merges_)) for old, new in merged.items()]
        for old, new in pairs:
            self._record_merge(old, new, now, "clusterer")
        return pairs

    def _record_merge(self, old: str, new: str, now: str, reason: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO story_merges (old_id, new_id, merged_at, reason) VALUES (?, ?, ?, ?)",
            (old, new, now, reason),
        )
        self.db.execute("UPDATE story_merges SET new_id = ? WHERE new_id = ?", (new, old))
        self.db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (new, old))
        self.db.execute("DELETE FROM stories WHERE id = ?", (old,))
        self.db.execute(
            "INSERT INTO stories (id, updated_at, dirty) VALUES (?, ?, 1) "
            "ON CONFLICT(id) DO UPDATE SET dirty = 1", (new, now),
        )

    def _story_of_article(self, article_id: str, in_batch: dict[str, str]) -> str:
        if article_id in in_batch:
            return in_batch[article_id]
        row = self.db.execute("SELECT story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise StorageError(f"article {article_id} is referenced as an original but is not stored")
        return str(row[0])

    def _existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self.db.execute(f"SELECT id FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            found.update(r[0] for r in rows)
        return found

    def refresh_stories(self, story_ids: Iterable[str] | None = None) -> int:
        """Recompute headline, summary and counts of dirty (or the given) stories."""
        if story_ids is None:
            story_ids = [r[0] for r in self.db.execute("SELECT id FROM stories WHERE dirty = 1")]
        count = 0
        for story_id in list(story_ids):
            story = self._build_story(story_id)
            with self.transaction():
                if story is None:
                    self.db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
                    self.db.execute("DELETE FROM story_vectors WHERE story_id = ?", (story_id,))
                    continue
                summary = self.summarizer(story.articles, self.settings.max_words)
                story.summary = editorial.apply_pin(self, story_id, summary)
                editorial.record_headline(self, story)
                _related.remember(self, story)
                self.db.execute(
                    "UPDATE stories SET headline = ?, summary = ?, size = ?, duplicates = ?, outlets = ?, "
                    "first_seen = ?, last_seen = ?, dirty = 0 WHERE id = ?",
                    (story.summary.headline, json.dumps(story.summary.to_dict()), story.size, story.duplicates,
                     len(story.outlets), _iso(story.first_seen), _iso(story.last_seen), story_id),
                )
            count += 1
        return count

    # -- reading --------------------------------------------------------------------------
    def resolve_story_id(self, story_id: str) -> str:
        merges = {r[0]: r[1] for r in self.db.execute("SELECT old_id, new_id FROM story_merges")}
        return resolve(story_id, merges)

    def _build_story(self, story_id: str) -> Story | None:
        rows = self.db.execute("SELECT * FROM articles WHERE story_id = ? ORDER BY seq", (story_id,)).fetchall()
        if not rows:
            return None
        story = Story(id=story_id)
        for row in rows:
            if row["canonical_id"] == row["id"]:
                story.articles.append(_article(row))
            else:
                story.reprints.setdefault(row["canonical_id"], []).append(row["id"])
        return story

    def story(self, story_id: str) -> Story | None:
        """A stored story with its articles and summary; merged-away ids resolve."""
        story = self._build_story(self.resolve_story_id(story_id))
        if story is None:
            return None
        row = self.db.execute("SELECT summary FROM stories WHERE id = ?", (story.id,)).fetchone()
        if row and row[0]:
            story.summary = _summary(json.loads(row[0]))
        return story

    def list_stories(self, *, limit: int | None = 50, offset: int = 0) -> list[sqlite3.Row]:
        """Story rows, biggest first then freshest (all of them when ``limit`` is None)."""
        return self.db.execute(
            "SELECT * FROM stories ORDER BY size + duplicates DESC, size DESC, last_seen DESC, id LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset),
        ).fetchall()

    def counts(self) -> dict[str, int]:
        one = lambda sql: int(self.db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "articles": one("SELECT count(*) FROM articles"),
            "originals": one("SELECT count(*) FROM articles WHERE canonical_id = id"),
            "stories": one("SELECT count(*) FROM stories"),
            "merges": one("SELECT count(*) FROM story_merges"),
        }

    def iter_articles(self) -> Iterator[dict[str, Any]]:
        for row in self.db.execute("SELECT * FROM articles ORDER BY seq"):
            d = {k: row[k] for k in row.keys() if k not in ("seq", "added_batch")}
            d["reprint_of"] = None if row["canonical_id"] == row["id"] else row["canonical_id"]
            yield d

    def iter_stories(self) -> Iterator[dict[str, Any]]:
        for row in self.db.execute("SELECT * FROM stories ORDER BY size + duplicates DESC, size DESC, id"):
            summary = json.loads(row["summary"]) if row["summary"] else {}
            ids = [r[0] for r in self.db.execute("SELECT id FROM articles WHERE story_id = ? ORDER BY seq", (row["id"],))]
            yield {
                "id": row["id"], "headline": row["headline"], "summary": summary.get("summary", ""),
                "sentences": summary.get("sentences", []), "size": row["size"], "duplicates": row["duplicates"],
                "outlets": row["outlets"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                "articles": ids, "summarizer": summary.get("summarizer", ""),
            }

    # -- feeds and checkpoints ------------------------------------------------------------
    def get_feed(self, url: str) -> FeedState | None:
        row = self.db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return _feed(row) if row else None

    def list_feeds(self) -> list[FeedState]:
        return [_feed(r) for r in self.db.execute("SELECT * FROM feeds ORDER BY url")]

    def save_feed(self, feed: FeedState) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (feed.url, feed.title, feed.etag, feed.last_modified, feed.interval_s, _iso(feed.next_poll_at),
                 _iso(feed.last_success_at), feed.last_error, _iso(feed.last_error_at),
                 feed.consecutive_failures, feed.entries_seen),
            )

    def delete_feed(self, url: str) -> bool:
        with self.transaction():
            return self.db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount > 0

    def get_checkpoint(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_checkpoint(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (key, value))

    def record_errors(self, errors: Iterable[tuple[str, str]]) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT INTO ingest_errors (at, where_, reason) VALUES (?, ?, ?)",
                [(_now(), where, reason) for where, reason in errors],
            )


def _statements(sql: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out, buf = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and (not joined.upper().startswith("CREATE TRIGGER") or joined.upper().endswith("END;")):
            out.append(joined)
            buf = []
    if buf:
        out.append("\n".join(buf))
    return out


def _article(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"], title=row["title"], text=row["text"], url=row["url"], source=row["source"],
        published=parse_date(row["published"]), language=row["language"], fetched_at=parse_date(row["fetched_at"]),
        origin=row["origin"], author=row["author"], content_hash=row["content_hash"],
        fetched_url=row["fetched_url"] if "fetched_url" in row.keys() else "",
    )


def _summary(d: dict[str, Any]) -> Summary:
    return Summary(
        headline=d.get("headline", ""),
        sentences=[SummarySentence(**s) for s in d.get("sentences", [])],
        summarizer=d.get("summarizer", ""),
    )


def _feed(row: sqlite3.Row) -> FeedState:
    return FeedState(
        url=row["url"], title=row["title"], etag=row["etag"], last_modified=row["last_modified"],
        interval_s=row["interval_s"], next_poll_at=parse_date(row["next_poll_at"]),
        last_success_at=parse_date(row["last_success_at"]), last_error=row["last_error"],
        last_error_at=parse_date(row["last_error_at"]), consecutive_failures=row["consecutive_failures"],
        entries_seen=row["entries_seen"],
    )
