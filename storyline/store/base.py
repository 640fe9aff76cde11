"""What every store backend is: the :class:`Store` protocol, and the SQL both backends share.

A store only persists. It knows articles, stories, merges and splits, the editorial tables,
feeds, checkpoints and the engine's saved state as rows; it never deduplicates, clusters or
summarizes (that is :mod:`storyline.engine`), and it imports nothing from ``cluster``, ``dedup``,
``summarize`` or ``pipeline``. :class:`SQLStore` holds the SQL, written once in the portable
dialect (``?`` placeholders, ``ON CONFLICT`` upserts); :class:`~storyline.store.sqlite.SQLiteStore`
and :class:`~storyline.store.postgres.PostgresStore` add connecting, transactions, the writer
lock and migration bookkeeping.

Writing: every write runs inside ``with store.transaction():`` (the engine groups one batch, one
consolidation, one editorial action per transaction), so readers never see half of one.
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from ..errors import StorageError
from ..ingest.dates import parse_date
from ..models import Article, FeedState, Story, Summary, SummarySentence
from .migrate import for_dialect, migrations
from .outlet_counts import count_new as count_outlets, recount as recount_outlets
from .signatures import SignatureRows

ARTICLE_COLUMNS = (
    "id", "url", "origin", "source", "title", "text", "author", "published", "fetched_at",
    "language", "content_hash", "fetched_url",
)
_ROW = ", ".join(ARTICLE_COLUMNS + ("canonical_id", "story_id", "added_batch", "seq", "added_at"))
GENERATION_KEY = "engine:generation"  # bumped by every engine write; a writer reloads when it moved
PENDING_KEY = "engine:pending"  # "consolidate" while a run's end-of-input consolidation is owed


class WriterBusy(StorageError):
    """Another process is writing to the store (``holder`` says who) and did not finish in time."""

    def __init__(self, where: str, holder: str, waited: float) -> None:
        super().__init__(
            f"another storyline process is writing to {where}: {holder}; waited {waited:.0f} s. "
            "Let it finish (or stop it), or raise writer_wait (seconds) to wait longer"
        )
        self.holder = holder


@dataclass
class IngestResult:
    """What one ``Engine.add_articles`` call did."""

    seen: int = 0
    new: int = 0
    reprints: int = 0
    already_stored: int = 0
    stories_touched: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class SavedState:
    """One component's saved state row."""

    kind: str  # the component's versioned name
    maker: str  # JSON of the engine's composite key that made it ('' when saved before v4)
    state: str  # JSON (see store.state)
    upto_seq: int  # articles up to this seq are in it; later ones are replayed


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def writer_identity(command: str) -> dict[str, Any]:
    """Who a writer is, for the message another writer gets."""
    return {"pid": os.getpid(), "command": command or " ".join(sys.argv[:3]), "since": now_iso()}


def describe_writer(info: dict[str, Any]) -> str:
    return f"pid {info.get('pid', '?')} ({info.get('command', '?')}) since {info.get('since', '?')}"


def resolve_merges(story_id: str, merges: dict[str, str]) -> str:
    """Follow merge redirects to the story that holds ``story_id`` now."""
    seen = set()
    while story_id in merges and story_id not in seen:
        seen.add(story_id)
        story_id = merges[story_id]
    return story_id


@runtime_checkable
class Store(Protocol):
    """The persistence the engine, the web and the commands use. See docs/architecture.md."""

    dialect: str
    where: str

    # schema, transactions, the one writer
    def migrate(self) -> None: ...
    def transaction(self) -> AbstractContextManager[Any]: ...
    def writer(self, command: str = "", *, wait: float = 0.0) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...

    # articles
    def existing_ids(self, ids: Sequence[str]) -> set[str]: ...
    def next_batch(self) -> int: ...
    def insert_article(self, art: Article, *, canonical: str, story: str, batch: int, now: str,
                       signature: bytes | None = None) -> None: ...
    def insert_articles(self, rows: Sequence[tuple[Article, str, str, bytes | None]], *, batch: int, now: str) -> None: ...
    def story_of_article(self, article_id: str) -> str | None: ...
    def stream_rows(self) -> list[tuple[str, str, str, str]]: ...
    def signatures(self) -> dict[str, bytes]: ...
    def canonicals_by_hash(self, hashes: Sequence[str]) -> dict[str, str]: ...
    def story_membership(self, story_ids: Sequence[str]) -> dict[str, tuple[list[str], dict[str, list[str]]]]: ...
    def recent_signatures(self, since: str | None, undated: int | None) -> list[tuple[str, str | None, str | None, bytes]]: ...
    def newest_original_date(self) -> str | None: ...
    def signed_texts(self, *, after_seq: int = 0, limit: int = 1000,
                     newest: bool = False) -> list[tuple[int, str, str, str, bytes]]: ...
    def replace_signatures(self, rows: Sequence[tuple[str, bytes | None]]) -> None: ...
    def originals(self, *, after_seq: int = 0) -> Iterator[tuple[int, Article]]: ...
    def max_seq(self) -> int: ...
    def move_articles(self, moves: dict[str, str]) -> None: ...

    # stories, merges, splits
    def touch_story(self, story_id: str, now: str) -> None: ...
    def touch_stories(self, story_ids: Iterable[str], now: str) -> None: ...
    def dirty_story_ids(self) -> list[str]: ...
    def story_members(self, story_id: str) -> Story | None: ...
    def stories_members(self, story_ids: Sequence[str]) -> dict[str, Story]: ...
    def save_story(self, story: Story, summary: Summary) -> None: ...
    def save_stories(self, done: Sequence[tuple[Story, Summary]]) -> None: ...
    def delete_story(self, story_id: str) -> None: ...
    def merges(self) -> dict[str, str]: ...
    def resolve_story_ids(self, story_ids: Iterable[str]) -> dict[str, str]: ...
    def overrides_of(self, article_ids: Iterable[str]) -> dict[str, str]: ...
    def move_originals(self, moves: dict[str, str]) -> None: ...
    def record_merge(self, old: str, new: str, now: str, reason: str) -> None: ...
    def redirect(self, old: str, new: str, now: str, reason: str) -> None: ...
    def forget_merge(self, old: str) -> None: ...
    def record_split(self, old: str, new: str, now: str, reason: str) -> None: ...
    def resolve_story_id(self, story_id: str) -> str: ...
    def story(self, story_id: str) -> Story | None: ...
    def list_stories(self, *, limit: int | None = 50, offset: int = 0) -> list[Any]: ...
    def counts(self) -> dict[str, int]: ...
    def iter_articles(self) -> Iterator[dict[str, Any]]: ...
    def iter_stories(self) -> Iterator[dict[str, Any]]: ...
    def overrides(self) -> dict[str, str]: ...

    # engine state
    def load_state(self, name: str) -> SavedState | None: ...
    def save_state(self, name: str, *, kind: str, maker: str, state: str | bytes) -> None: ...
    def generation(self) -> int: ...
    def bump_generation(self) -> int: ...

    # feeds, checkpoints, errors
    def get_feed(self, url: str) -> FeedState | None: ...
    def list_feeds(self) -> list[FeedState]: ...
    def save_feed(self, feed: FeedState) -> None: ...
    def delete_feed(self, url: str) -> bool: ...
    def get_checkpoint(self, key: str) -> str | None: ...
    def set_checkpoint(self, key: str, value: str) -> None: ...
    def put_checkpoint(self, key: str, value: str | None) -> None: ...
    def record_errors(self, errors: Iterable[tuple[str, str]]) -> None: ...

    # removals (`storyline forget`)
    def find_articles(self, *, ids: Sequence[str] = (), outlets: Sequence[str] = (), origins: Sequence[str] = (),
                      reprints_of: Sequence[str] = ()) -> list[dict[str, Any]]: ...
    def article_record(self, article_id: str) -> Article | None: ...
    def remove_articles(self, rows: Sequence[dict[str, Any]], *, new_originals: dict[str, tuple[str, bytes | None]],
                        selector: str, reason: str) -> set[str]: ...
    def removed_ids(self, ids: Sequence[str]) -> set[str]: ...
    def removal_log(self, *, limit: int | None = 100) -> list[dict[str, Any]]: ...


class SQLStore(SignatureRows):
    """The SQL every backend shares. Subclasses set ``db`` (``execute(sql, params)`` returning a
    cursor whose rows index by name and position), ``dialect``, ``where``, and implement
    ``transaction``, ``writer``, ``close`` and the migration bookkeeping."""

    db: Any
    dialect: str
    where: str
    _lock_depth: int = 0

    # -- the one writer (backends supply _try_lock, _unlock and writer_holder) ----------------
    @contextmanager
    def writer(self, command: str = "", *, wait: float = 0.0) -> Iterator[None]:
        """Hold the store's writer lock; re-entrant. Waits up to ``wait`` seconds for another
        writer, then raises :class:`WriterBusy` naming it."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        start = time.monotonic()
        while not self._try_lock(command):
            if time.monotonic() - start >= wait:
                raise WriterBusy(self.where, self._busy_holder(), time.monotonic() - start)
            time.sleep(min(0.2, max(0.01, wait / 50)))
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            self._unlock()

    def _try_lock(self, command: str) -> bool:
        """Take the writer lock now if it is free (recording ``command`` as its holder)."""
        raise NotImplementedError

    def _unlock(self) -> None:
        raise NotImplementedError

    def writer_holder(self) -> str | None:
        raise NotImplementedError

    def _busy_holder(self) -> str:
        return self.writer_holder() or "another session"

    # -- schema --------------------------------------------------------------------------
    def _applied(self) -> set[int]:
        raise NotImplementedError

    def _mark_applied(self, version: int) -> None:
        raise NotImplementedError

    def _schema_lock(self) -> AbstractContextManager[Any]:
        """A transaction that excludes every other migrating process."""
        return self.transaction()  # type: ignore[attr-defined,no-any-return]

    @property
    def schema_version(self) -> int:
        applied = self._applied()
        return max(applied) if applied else 0

    def migrate(self) -> None:
        """Apply every shipped migration this database has not seen, each in its own transaction,
        reading what was applied only inside the transaction (two processes starting at once
        each wait for the other's migration, then skip it)."""
        shipped = migrations()
        names = {v for v, _ in shipped}
        if names <= self._applied():
            self._check_not_newer(names)
            return
        for version, sql in shipped:
            with self._schema_lock():
                applied = self._applied()
                self._check_not_newer(names, applied)
                if version in applied:
                    continue
                for statement in for_dialect(sql, self.dialect):
                    self.db.execute(statement)
                self._mark_applied(version)

    def _check_not_newer(self, shipped: set[int], applied: set[int] | None = None) -> None:
        applied = self._applied() if applied is None else applied
        unknown = applied - shipped
        if unknown and max(unknown) > max(shipped):
            raise StorageError(
                f"{self.where} has schema version {max(applied)}, newer than this storyline ({max(shipped)}); "
                "upgrade storyline"
            )

    # -- articles ------------------------------------------------------------------------
    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            rows = self.db.execute(f"SELECT id FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            found.update(r[0] for r in rows)
        return found

    def next_batch(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(added_batch), 0) + 1 FROM articles").fetchone()[0])

    def insert_article(self, art: Article, *, canonical: str, story: str, batch: int, now: str,
                       signature: bytes | None = None) -> None:
        self.insert_articles([(art, canonical, story, signature)], batch=batch, now=now)

    def insert_articles(self, rows: Sequence[tuple[Article, str, str, bytes | None]], *, batch: int, now: str) -> None:
        """Store (article, canonical id, story id, MinHash signature or None) rows in one go, and
        add them to their outlets' counts (:mod:`.outlet_counts`) and the search index (:meth:`_index_new`)."""
        after = self.max_seq()  # seq only grows (a generated key, one writer): the new rows are the ones after it
        self.db.executemany(
            f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, canonical_id, story_id, added_at, added_batch) "
            f"VALUES ({', '.join('?' * (len(ARTICLE_COLUMNS) + 4))})",
            [(art.id, art.url, art.origin, art.source, art.title, art.text, art.author, iso(art.published),
              iso(art.fetched_at), art.language, art.content_hash, art.fetched_url or art.url, canonical, story, now,
              batch)
             for art, canonical, story, _ in rows],
        )
        sigs = [(art.id, sig) for art, _, _, sig in rows if sig is not None]
        if sigs:
            self.db.executemany("INSERT INTO minhash_signatures (article_id, signature) VALUES (?, ?)", sigs)
        count_outlets(self.db, after)
        self._index_new(after)

    def _index_new(self, after: int) -> None:
        """Put the articles stored after ``after`` in the search index. PostgreSQL's index is an
        expression index over the rows (nothing to do); SQLite overrides this for FTS5."""

    def story_of_article(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else str(row[0])

    def stream_rows(self) -> list[tuple[str, str, str, str]]:
        """(id, canonical id, content hash, story id) of every article, in storage order."""
        return [(r[0], r[1], r[2], r[3]) for r in self.db.execute(
            "SELECT id, canonical_id, content_hash, story_id FROM articles ORDER BY seq").fetchall()]

    def story_membership(self, story_ids: Sequence[str]) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
        """Each story's original ids and reprints (canonical id -> reprint ids), in storage order, as
        :meth:`stories_members` would give them, without reading the articles' texts."""
        out: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
        story_ids = list(story_ids)
        for i in range(0, len(story_ids), 500):
            chunk = story_ids[i : i + 500]
            for art, canon, story in self.db.execute(
                    f"SELECT id, canonical_id, story_id FROM articles WHERE story_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY seq", chunk).fetchall():
                originals, reprints = out.setdefault(story, ([], {}))
                if art == canon:
                    originals.append(art)
                else:
                    reprints.setdefault(canon, []).append(art)
        return out

    def originals(self, *, after_seq: int = 0) -> Iterator[tuple[int, Article]]:
        """(batch number, article) of every original stored after ``after_seq``, in storage order."""
        rows = self.db.execute(
            f"SELECT {_ROW} FROM articles WHERE seq > ? AND canonical_id = id ORDER BY seq", (after_seq,)
        ).fetchall()
        for row in rows:
            yield int(row["added_batch"]), row_article(row)

    def max_seq(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0])

    def move_articles(self, moves: dict[str, str]) -> None:
        """Put each article (id -> story id) in the given story."""
        rows = [(story, art) for art, story in moves.items()]
        for i in range(0, len(rows), 1000):
            self.db.executemany("UPDATE articles SET story_id = ? WHERE id = ?", rows[i : i + 1000])

    # -- stories -------------------------------------------------------------------------
    def touch_story(self, story_id: str, now: str) -> None:
        """Create the story row if missing and mark it dirty (its summary needs recomputing)."""
        self.db.execute(
            "INSERT INTO stories (id, updated_at, dirty) VALUES (?, ?, 1) "
            "ON CONFLICT (id) DO UPDATE SET dirty = 1, updated_at = excluded.updated_at",
            (story_id, now),
        )

    def touch_stories(self, story_ids: Iterable[str], now: str) -> None:
        """:meth:`touch_story` for many stories in one go."""
        rows = [(sid, now) for sid in dict.fromkeys(story_ids)]
        if rows:
            self.db.executemany(
                "INSERT INTO stories (id, updated_at, dirty) VALUES (?, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET dirty = 1, updated_at = excluded.updated_at", rows)

    def dirty_story_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM stories WHERE dirty = 1 ORDER BY id")]

    def story_members(self, story_id: str) -> Story | None:
        """The story's originals (as articles) and reprints, without its summary."""
        return self.stories_members([story_id]).get(story_id)

    def stories_members(self, story_ids: Sequence[str]) -> dict[str, Story]:
        """:meth:`story_members` of many stories in one query (stories with no articles left out)."""
        out: dict[str, Story] = {}
        ids = list(dict.fromkeys(story_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self.db.execute(
                f"SELECT {_ROW} FROM articles WHERE story_id IN ({','.join('?' * len(chunk))}) ORDER BY seq", chunk
            ).fetchall()
            for row in rows:
                story = out.setdefault(row["story_id"], Story(id=row["story_id"]))
                if row["canonical_id"] == row["id"]:
                    story.articles.append(row_article(row))
                else:
                    story.reprints.setdefault(row["canonical_id"], []).append(row["id"])
        return out

    def save_story(self, story: Story, summary: Summary) -> None:
        self.save_stories([(story, summary)])

    def save_stories(self, done: Sequence[tuple[Story, Summary]]) -> None:
        """Store each story's headline, summary and counts and clear its dirty flag."""
        self.db.executemany(
            "UPDATE stories SET headline = ?, summary = ?, size = ?, duplicates = ?, outlets = ?, "
            "first_seen = ?, last_seen = ?, dirty = 0 WHERE id = ?",
            [(summary.headline, json.dumps(summary.to_dict()), story.size, story.duplicates,
              len(story.outlets), iso(story.first_seen), iso(story.last_seen), story.id) for story, summary in done],
        )

    def delete_story(self, story_id: str) -> None:
        """Forget a story row that has no articles left (and its vector for related stories)."""
        self.db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
        self.db.execute("DELETE FROM story_vectors WHERE story_id = ?", (story_id,))
        self.db.execute("DELETE FROM story_related WHERE story_id = ? OR related_id = ?", (story_id, story_id))

    def merges(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT old_id, new_id FROM story_merges")}

    def resolve_story_ids(self, story_ids: Iterable[str]) -> dict[str, str]:
        """Each of ``story_ids`` -> the story that holds it now, following merge redirects with
        indexed look-ups (``story_merges.old_id``), never reading the whole table."""
        out = {s: s for s in dict.fromkeys(story_ids)}
        todo, seen = list(out), set(out)
        while todo:
            found: dict[str, str] = {}
            for i in range(0, len(todo), 500):
                chunk = todo[i : i + 500]
                found.update((r[0], r[1]) for r in self.db.execute(
                    f"SELECT old_id, new_id FROM story_merges WHERE old_id IN ({','.join('?' * len(chunk))})", chunk))
            if not found:
                break
            for start, current in out.items():
                if current in found:
                    out[start] = found[current]
            todo = [n for n in dict.fromkeys(found.values()) if n not in seen]  # a cycle stops here
            seen.update(todo)
        return out

    def overrides_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """:meth:`overrides` for ``article_ids`` only (indexed look-ups)."""
        ids = list(dict.fromkeys(article_ids))
        raw: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            raw.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT article_id, story_id FROM article_overrides WHERE article_id IN ({','.join('?' * len(chunk))})",
                chunk))
        where = self.resolve_story_ids(raw.values()) if raw else {}
        return {a: where[s] for a, s in raw.items()}

    def move_originals(self, moves: dict[str, str]) -> None:
        """Put each original (id -> story id) and its reprints in the given story, except an
        original an editor placed (``article_overrides``), which stays where the editor put it."""
        rows = [(story, art) for art, story in moves.items()]
        for i in range(0, len(rows), 1000):
            self.db.executemany(
                "UPDATE articles SET story_id = ? WHERE canonical_id = ? "
                "AND canonical_id NOT IN (SELECT article_id FROM article_overrides)", rows[i : i + 1000])

    def record_merge(self, old: str, new: str, now: str, reason: str) -> None:
        """``old`` is folded into ``new``: its articles move, its id redirects, ``new`` is dirty."""
        self.db.execute(
            "INSERT INTO story_merges (old_id, new_id, merged_at, reason) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id, merged_at = excluded.merged_at, "
            "reason = excluded.reason",
            (old, new, now, reason),
        )
        self.db.execute("UPDATE story_merges SET new_id = ? WHERE new_id = ?", (new, old))
        self.db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (new, old))
        self.db.execute("DELETE FROM stories WHERE id = ?", (old,))
        self.touch_story(new, now)

    def redirect(self, old: str, new: str, now: str, reason: str) -> None:
        """Record that ``old`` now lives on as ``new`` (no articles move; see :meth:`record_merge`)."""
        self.db.execute(
            "INSERT INTO story_merges (old_id, new_id, merged_at, reason) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id, merged_at = excluded.merged_at, "
            "reason = excluded.reason",
            (old, new, now, reason),
        )
        self.db.execute("DELETE FROM stories WHERE id = ?", (old,))

    def forget_merge(self, old: str) -> None:
        """``old`` is a live story again (a rebuild gave it back its articles)."""
        self.db.execute("DELETE FROM story_merges WHERE old_id = ?", (old,))

    def record_split(self, old: str, new: str, now: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO story_splits (old_id, new_id, split_at, reason) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (old_id, new_id) DO UPDATE SET split_at = excluded.split_at, reason = excluded.reason",
            (old, new, now, reason),
        )

    def resolve_story_id(self, story_id: str) -> str:
        """The story that holds ``story_id`` now: one indexed look-up per redirect followed
        (``story_merges`` is keyed on ``old_id``; a merge re-points older redirects, so chains
        are short), never the whole table; a cycle stops where it would repeat."""
        seen: set[str] = set()
        while story_id not in seen:  # the same answer as resolve_merges(story_id, self.merges())
            row = self.db.execute("SELECT new_id FROM story_merges WHERE old_id = ?", (story_id,)).fetchone()
            if row is None:
                break
            seen.add(story_id)
            story_id = str(row[0])
        return story_id

    def story(self, story_id: str) -> Story | None:
        """A stored story with its articles and summary; merged-away ids resolve."""
        story = self.story_members(self.resolve_story_id(story_id))
        if story is None:
            return None
        row = self.db.execute("SELECT summary FROM stories WHERE id = ?", (story.id,)).fetchone()
        if row and row[0]:
            story.summary = row_summary(json.loads(row[0]))
        return story

    def list_stories(self, *, limit: int | None = 50, offset: int = 0) -> list[Any]:
        """Story rows, biggest first then freshest (all of them when ``limit`` is None)."""
        sql = "SELECT * FROM stories ORDER BY size + duplicates DESC, size DESC, last_seen DESC, id"
        if limit is None:
            return list(self.db.execute(sql + " LIMIT -1 OFFSET ?" if self.dialect == "sqlite" else sql + " OFFSET ?",
                                        (offset,)).fetchall())
        return list(self.db.execute(sql + " LIMIT ? OFFSET ?", (limit, offset)).fetchall())

    def counts(self) -> dict[str, int]:
        one = lambda sql: int(self.db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "articles": one("SELECT count(*) FROM articles"),
            "originals": one("SELECT count(*) FROM articles WHERE canonical_id = id"),
            "stories": one("SELECT count(*) FROM stories"),
            "merges": one("SELECT count(*) FROM story_merges"),
        }

    def iter_articles(self) -> Iterator[dict[str, Any]]:
        for row in self.db.execute("SELECT * FROM articles ORDER BY seq").fetchall():
            d = {k: row[k] for k in row.keys() if k not in ("seq", "added_batch", "search")}
            d["reprint_of"] = None if row["canonical_id"] == row["id"] else row["canonical_id"]
            yield d

    def iter_stories(self) -> Iterator[dict[str, Any]]:
        members: dict[str, list[str]] = {}
        for r in self.db.execute("SELECT id, story_id FROM articles ORDER BY seq").fetchall():
            members.setdefault(r[1], []).append(r[0])
        for row in self.db.execute("SELECT * FROM stories ORDER BY size + duplicates DESC, size DESC, id").fetchall():
            summary = json.loads(row["summary"]) if row["summary"] else {}
            yield {
                "id": row["id"], "headline": row["headline"], "summary": summary.get("summary", ""),
                "sentences": summary.get("sentences", []), "size": row["size"], "duplicates": row["duplicates"],
                "outlets": row["outlets"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                "articles": members.get(row["id"], []), "summarizer": summary.get("summarizer", ""),
            }

    def overrides(self) -> dict[str, str]:
        """Article id -> the story an editor put it in (resolved through later merges)."""
        merges = self.merges()
        return {r[0]: resolve_merges(r[1], merges)
                for r in self.db.execute("SELECT article_id, story_id FROM article_overrides")}

    # -- engine state --------------------------------------------------------------------
    def load_state(self, name: str) -> SavedState | None:
        row = self.db.execute("SELECT kind, maker, state, upto_seq FROM engine_state WHERE name = ?", (name,)).fetchone()
        return None if row is None else SavedState(row[0], row[1], row[2], int(row[3]))

    def save_state(self, name: str, *, kind: str, maker: str, state: str | bytes) -> None:
        """Save a component's state (JSON text, or its UTF-8 bytes: see :func:`state.dumps_utf8`)
        as of every article stored so far (inside a transaction)."""
        marker, value = self._text_param(state)
        self.db.execute(
            f"INSERT INTO engine_state (name, kind, maker, state, upto_seq) VALUES (?, ?, ?, {marker}, ?) "
            "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, maker = excluded.maker, "
            "state = excluded.state, upto_seq = excluded.upto_seq",
            (name, kind, maker, value, self.max_seq()),
        )

    def _text_param(self, text: str | bytes) -> tuple[str, Any]:
        """(placeholder, value) that store ``text`` (UTF-8 bytes or a str) as a TEXT value."""
        return "?", text.decode() if isinstance(text, bytes) else text

    def delete_state(self, name: str) -> None:
        self.db.execute("DELETE FROM engine_state WHERE name = ?", (name,))

    def generation(self) -> int:
        """How many engine writes the store has seen (another writer's commit moves it)."""
        return int(self.get_checkpoint(GENERATION_KEY) or 0)

    def bump_generation(self) -> int:
        """Count one more engine write (inside the writer's transaction); returns the new value."""
        value = self.generation() + 1
        self.put_checkpoint(GENERATION_KEY, str(value))
        return value

    # -- removal (`storyline forget`; the planning is in storyline/maintenance.py) ----------
    def find_articles(self, *, ids: Sequence[str] = (), outlets: Sequence[str] = (), origins: Sequence[str] = (),
                      reprints_of: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Rows (id, url, source, origin, story_id, canonical_id, seq) of the articles with one of
        ``ids``, from one of ``outlets`` or ``origins``, or copying one of ``reprints_of``; by seq."""
        found: dict[str, dict[str, Any]] = {}
        columns = ("id", "url", "source", "origin", "story_id", "canonical_id", "seq")
        for column, values in (("id", ids), ("source", outlets), ("origin", origins), ("canonical_id", reprints_of)):
            values = list(values)
            for i in range(0, len(values), 500):
                chunk = values[i : i + 500]
                for row in self.db.execute(
                        f"SELECT {', '.join(columns)} FROM articles "
                        f"WHERE {column} IN ({','.join('?' * len(chunk))})", chunk).fetchall():
                    found[row["id"]] = {c: row[c] for c in columns}
        return sorted(found.values(), key=lambda r: r["seq"])

    def article_record(self, article_id: str) -> Article | None:
        """One stored article as an :class:`Article`, or None."""
        row = self.db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row_article(row) if row else None

    def _unindex_articles(self, marks: str, ids: list[str]) -> None:
        """Drop articles from the search index before their rows go. PostgreSQL's index is an
        expression index over the rows (nothing to do); SQLite overrides this for FTS5."""

    def remove_articles(self, rows: Sequence[dict[str, Any]], *, new_originals: dict[str, tuple[str, bytes | None]],
                        selector: str, reason: str) -> set[str]:
        """Delete the articles of ``rows`` (from :meth:`find_articles`) in one transaction (the
        caller's, if open): their text, search entries and signatures go; each removed original
        named in ``new_originals`` hands its surviving copies to ``(new original id, its
        signature)``; headlines of theirs in a story's headline history go; one ``removals`` row
        per article records what went and why; the stories
        they were in are marked dirty. Returns those story ids (the engine refreshes them)."""
        now = now_iso()
        touched = {str(r["story_id"]) for r in rows}
        ids = [r["id"] for r in rows]
        with self.transaction():  # type: ignore[attr-defined]
            for old, (new, signature) in new_originals.items():
                self.db.execute("UPDATE articles SET canonical_id = ? WHERE canonical_id = ?", (new, old))
                if signature is not None:
                    self.db.execute("INSERT INTO minhash_signatures (article_id, signature) VALUES (?, ?) "
                                    "ON CONFLICT (article_id) DO UPDATE SET signature = excluded.signature",
                                    (new, signature))
            next_id = int(self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM removals").fetchone()[0])
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                self._unindex_articles(marks, chunk)
                self.db.execute(f"DELETE FROM minhash_signatures WHERE article_id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM article_overrides WHERE article_id IN ({marks})", chunk)
                # a headline the story page shows as history is that article's text: it goes too
                self.db.execute(f"DELETE FROM headline_history WHERE article_id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM articles WHERE id IN ({marks})", chunk)
            self.db.executemany(
                "INSERT INTO removals (id, removed_at, article_id, url, source, origin, story_id, selector, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(next_id + n, now, r["id"], r["url"] or "", r["source"] or "", r["origin"] or "", r["story_id"],
                  selector, reason) for n, r in enumerate(rows)])
            for story_id in touched:
                self.db.execute("UPDATE stories SET dirty = 1, updated_at = ? WHERE id = ?", (now, story_id))
            sources = {str(r["source"] or "") for r in rows}
            heirs = [new for new, _ in new_originals.values()]  # a reprint made an original counts as one now
            sources.update(str(r["source"] or "") for r in self.find_articles(ids=heirs))
            recount_outlets(self.db, sources)
        return touched

    def removed_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` were removed by ``storyline forget`` (and are not stored again)."""
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.db.execute(
                f"SELECT article_id FROM removals WHERE article_id IN ({marks}) "
                f"AND article_id NOT IN (SELECT id FROM articles WHERE id IN ({marks}))", chunk + chunk).fetchall())
        return found

    def removal_log(self, *, limit: int | None = 100) -> list[dict[str, Any]]:
        """The latest ``removals`` rows, newest first (all of them when ``limit`` is None)."""
        sql = "SELECT * FROM removals ORDER BY id DESC"
        rows = (self.db.execute(sql).fetchall() if limit is None
                else self.db.execute(sql + " LIMIT ?", (limit,)).fetchall())
        return [{k: r[k] for k in r.keys()} for r in rows]

    # -- feeds, checkpoints, errors ------------------------------------------------------
    def get_feed(self, url: str) -> FeedState | None:
        row = self.db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return row_feed(row) if row else None

    def list_feeds(self) -> list[FeedState]:
        return [row_feed(r) for r in self.db.execute("SELECT * FROM feeds ORDER BY url").fetchall()]

    def save_feed(self, feed: FeedState) -> None:
        cols = ("url", "title", "etag", "last_modified", "interval_s", "next_poll_at", "last_success_at",
                "last_error", "last_error_at", "consecutive_failures", "entries_seen")
        with self.transaction():  # type: ignore[attr-defined]
            self.db.execute(
                f"INSERT INTO feeds ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT (url) "
                f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols[1:])}",
                (feed.url, feed.title, feed.etag, feed.last_modified, feed.interval_s, iso(feed.next_poll_at),
                 iso(feed.last_success_at), feed.last_error, iso(feed.last_error_at),
                 feed.consecutive_failures, feed.entries_seen),
            )

    def delete_feed(self, url: str) -> bool:
        with self.transaction():  # type: ignore[attr-defined]
            return int(self.db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount) > 0

    def get_checkpoint(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_checkpoint(self, key: str, value: str | None) -> None:
        """Set (None: delete) a checkpoint inside the caller's transaction."""
        if value is None:
            self.db.execute("DELETE FROM checkpoints WHERE key = ?", (key,))
            return
        self.db.execute("INSERT INTO checkpoints (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def set_checkpoint(self, key: str, value: str) -> None:
        with self.transaction():  # type: ignore[attr-defined]
            self.put_checkpoint(key, value)

    def record_errors(self, errors: Iterable[tuple[str, str]]) -> None:
        rows = [(now_iso(), where, reason) for where, reason in errors]
        if not rows:
            return
        with self.transaction():  # type: ignore[attr-defined]
            self.db.executemany("INSERT INTO ingest_errors (at, where_, reason) VALUES (?, ?, ?)", rows)


def row_article(row: Any) -> Article:
    return Article(
        id=row["id"], title=row["title"], text=row["text"], url=row["url"], source=row["source"],
        published=parse_date(row["published"]), language=row["language"], fetched_at=parse_date(row["fetched_at"]),
        origin=row["origin"], author=row["author"], content_hash=row["content_hash"],
        fetched_url=row["fetched_url"] if "fetched_url" in row.keys() else "",
    )


def row_summary(d: dict[str, Any]) -> Summary:
    return Summary(
        headline=d.get("headline", ""),
        sentences=[SummarySentence(**s) for s in d.get("sentences", [])],
        summarizer=d.get("summarizer", ""),
    )


def row_feed(row: Any) -> FeedState:
    return FeedState(
        url=row["url"], title=row["title"], etag=row["etag"], last_modified=row["last_modified"],
        interval_s=row["interval_s"], next_poll_at=parse_date(row["next_poll_at"]),
        last_success_at=parse_date(row["last_success_at"]), last_error=row["last_error"],
        last_error_at=parse_date(row["last_error_at"]), consecutive_failures=row["consecutive_failures"],
        entries_seen=row["entries_seen"],
    )


__all__ = ["ARTICLE_COLUMNS", "IngestResult", "SQLStore", "SavedState", "Store", "WriterBusy", "describe_writer", "now_iso",
           "resolve_merges", "row_article", "row_feed", "row_summary", "writer_identity"]
