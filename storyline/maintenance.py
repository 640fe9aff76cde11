"""Your data under your control: back it up, restore it, forget articles.

* :func:`backup` copies the database while ``run``, ``watch`` or ``serve`` keep going: SQLite's
  online backup API copies one consistent snapshot (a writer is never blocked, a half-written
  batch is never copied). For PostgreSQL use ``pg_dump`` (docs/operate.md).
* :func:`restore` brings a backup back into a new or empty data directory (``force`` to replace
  a non-empty one), checks it and applies the migrations of this version.
* :func:`forget` removes articles by id, by outlet or by source feed, recomputes the stories they
  were in (headline, summary, sizes; a story left empty disappears and its address answers 404)
  and records each removal, with the reason, in the ``removals`` table.

Every SQLite-specific line of the backup and restore is in :func:`_sqlite_copy`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .config import Settings
from .errors import ConfigError, StorageError
from .store import SQLiteStore

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("storyline.maintenance")


# -- backup and restore ---------------------------------------------------------------------
@dataclass(slots=True)
class CopyReport:
    """What a backup or restore copied: counts and a digest of the story list in the snapshot."""

    path: str
    articles: int
    stories: int
    story_list_sha256: str
    schema_version: int
    bytes: int
    integrity: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


def story_list(db: sqlite3.Connection) -> list[list[Any]]:
    """Every story as ``[id, headline, size, duplicates, outlets]``, by id: what `storyline stories`
    lists, in a stable order."""
    return [list(r) for r in db.execute("SELECT id, headline, size, duplicates, outlets FROM stories ORDER BY id")]


def story_list_sha256(db: sqlite3.Connection) -> str:
    """SHA-256 of :func:`story_list` as compact JSON (the same recipe works on any copy)."""
    blob = json.dumps(story_list(db), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _sqlite(settings: Settings, what: str) -> Path:
    url = settings.database_url
    if url and not url.startswith("sqlite:"):
        raise ConfigError(f"`storyline {what}` copies SQLite data directories; for {url.split(':', 1)[0]} use "
                          "pg_dump / pg_restore (docs/operate.md, \"PostgreSQL\")")
    return settings.sqlite_path


def _snapshot_facts(db: sqlite3.Connection) -> tuple[int, int, str, int]:
    one = lambda sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
    return (one("SELECT count(*) FROM articles"), one("SELECT count(*) FROM stories"), story_list_sha256(db),
            one("PRAGMA user_version"))


def _sqlite_copy(source: Path, target: Path, *, journal_mode: str) -> CopyReport:
    """Copy database ``source`` into ``target`` page by page with SQLite's online backup API.

    The source is read inside one read transaction, so the counts and the story-list digest
    describe exactly the snapshot copied while other processes keep writing (WAL mode: they are
    not blocked). The copy is checked with ``PRAGMA integrity_check``.

    Raises:
        StorageError: ``source`` is not a readable SQLite database, or the copy fails its check.
    """
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {source}: {exc}") from exc
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.execute("BEGIN")
            articles, stories, digest, version = _snapshot_facts(src)  # fixes the snapshot the backup reads
            src.backup(dst)
            src.execute("COMMIT")
            dst.execute(f"PRAGMA journal_mode={journal_mode}")
            integrity = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot copy {source} to {target}: {exc}") from exc
    finally:
        src.close()
    if integrity != "ok":
        raise StorageError(f"the copy at {target} fails SQLite's integrity check: {integrity}")
    return CopyReport(str(target), articles, stories, digest, version, target.stat().st_size, integrity)


def backup(settings: Settings, dest: Path, *, force: bool = False) -> CopyReport:
    """Write a consistent copy of the data directory's database to ``dest`` (one SQLite file).

    Safe while ``storyline run``, ``watch`` or ``serve`` use the database. The copy is made as
    ``dest.partial`` and renamed when complete and checked, so ``dest`` is never half written.

    Raises:
        ConfigError: the data lives in PostgreSQL, or ``dest`` exists and ``force`` is false.
        StorageError: there is no database, or it cannot be copied.
    """
    source = _sqlite(settings, "backup")
    if not source.is_file():
        raise StorageError(f"there is no database at {source} to back up")
    dest = Path(dest)
    if dest.is_dir():
        raise ConfigError(f"{dest} is a folder; give the backup file's name, e.g. {dest / 'storyline-backup.db'}")
    if dest.exists() and not force:
        raise ConfigError(f"{dest} exists; give another name or --force to replace it")
    if dest.resolve() == source.resolve():
        raise ConfigError(f"{dest} is the database itself; give another name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        report = _sqlite_copy(source, partial, journal_mode="DELETE")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    report.path = str(dest)
    log.info("backup written", extra={"path": str(dest), "articles": report.articles, "stories": report.stories,
                                      "bytes": report.bytes})
    return report


def _holds_data(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return any(db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
                       for t in ("articles", "feeds", "stories") if t in tables)
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return True  # something that is not an empty storyline database: do not overwrite it silently


def _check_backup(path: Path) -> None:
    from .store.sqlite import migrations

    if not path.is_file():
        raise StorageError(f"there is no backup file at {path}")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path} is not a storyline backup (not an SQLite database: {exc})") from exc
    if "articles" not in tables or "stories" not in tables:
        raise StorageError(f"{path} is an SQLite database but not a storyline backup (no articles/stories tables)")
    newest = max(v for v, _ in migrations())
    if version > newest:
        raise StorageError(f"{path} was made by a newer storyline (schema {version}, this one knows {newest}); "
                           "upgrade storyline before restoring it")


def restore(settings: Settings, source: Path, *, force: bool = False) -> CopyReport:
    """Bring backup ``source`` back as the data directory's database, then apply this version's
    migrations (a backup from an older storyline is upgraded on the way in).

    Raises:
        ConfigError: the data directory already holds data and ``force`` is false; PostgreSQL.
        StorageError: ``source`` is not a sound storyline backup.
    """
    target = _sqlite(settings, "restore")
    source = Path(source)
    _check_backup(source)
    if source.resolve() == target.resolve():
        raise ConfigError(f"{source} is the data directory's own database")
    if _holds_data(target) and not force:
        raise ConfigError(f"{target} already holds articles, stories or feeds; restore into a new --data-dir, "
                          "or give --force to replace them (stop `storyline run` first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        for leftover in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)  # an empty database: start from the backup's pages alone
    report = _sqlite_copy(source, target, journal_mode="WAL")
    store = SQLiteStore(settings)  # applies the migrations this version ships
    report.schema_version = store.schema_version
    store.close()
    log.info("backup restored", extra={"path": str(target), "articles": report.articles, "stories": report.stories})
    return report


# -- forgetting articles --------------------------------------------------------------------
@dataclass
class ForgetReport:
    """What :func:`forget` removed: article ids, stories recomputed, stories now empty."""

    removed: list[dict[str, Any]] = field(default_factory=list)
    stories_recomputed: list[str] = field(default_factory=list)
    stories_emptied: list[str] = field(default_factory=list)
    new_originals: dict[str, str] = field(default_factory=dict)  # removed original -> its copy that takes over
    not_found: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": [r["id"] for r in self.removed], "stories_recomputed": self.stories_recomputed,
                "stories_emptied": self.stories_emptied, "new_originals": self.new_originals,
                "not_found": self.not_found}


def _selector(ids: Sequence[str], outlets: Sequence[str], feeds: Sequence[str]) -> str:
    parts = [f"id={i}" for i in ids] + [f"outlet={o}" for o in outlets] + [f"feed={f}" for f in feeds]
    text = " ".join(parts)
    return text if len(text) <= 2000 else text[:1990] + " ..."


def _new_originals(engine: Engine, rows: Sequence[dict[str, Any]]) -> dict[str, tuple[str, bytes | None]]:
    """For each removed original, the earliest copy of it that stays, with its MinHash signature,
    so later copies still collapse into it."""
    from .dedup import MinHashDeduplicator

    store, settings = engine.store, engine.settings
    going = {r["id"] for r in rows}
    originals = [r["id"] for r in rows if r["canonical_id"] == r["id"]]
    survivors: dict[str, str] = {}
    for row in store.find_articles(reprints_of=originals):
        if row["id"] not in going and row["canonical_id"] not in survivors:
            survivors[row["canonical_id"]] = row["id"]
    plan: dict[str, tuple[str, bytes | None]] = {}
    for old, new in survivors.items():
        article = store.article_record(new)
        signature = None
        if article is not None:
            dedup = MinHashDeduplicator(threshold=settings.dedup_threshold, num_perm=settings.dedup_num_perm)
            dedup.partial_fit([article])
            signature = dedup.signature(article.id)
        plan[old] = (new, signature)
    return plan


def forget(engine: Engine, *, ids: Sequence[str] = (), outlets: Sequence[str] = (), feeds: Sequence[str] = (),
           reason: str = "", dry_run: bool = False) -> ForgetReport:
    """Remove the articles with one of ``ids``, from one of ``outlets`` (the outlet name stored
    with each article) or read from one of ``feeds`` (their source feed URL); recompute the stories
    they were in; record each removal with ``reason``.

    A removed original's copies from other outlets stay: the earliest becomes the original.
    With ``dry_run`` nothing changes and the report says what would go.

    The removal is an engine write: it holds the store's writer lock (waiting for a running
    ``run``/``watch``/``ingest`` to finish its write session) and bumps the store's generation in
    the same transaction, so every other writer reloads its deduplicator and clusterer from the
    store before its next write and nothing refers to a removed article.

    Raises:
        ConfigError: nothing was selected (no ids, outlets or feeds given).
    """
    if not (ids or outlets or feeds):
        raise ConfigError("say what to forget: --id ID, --outlet NAME or --feed URL (each may repeat)")
    store = engine.store
    with engine.writing("storyline forget"):
        rows = store.find_articles(ids=ids, outlets=outlets, origins=feeds)
        report = ForgetReport(removed=rows)
        found_ids = {r["id"] for r in rows}
        report.not_found = ([f"id={i}" for i in ids if i not in found_ids]
                            + [f"outlet={o}" for o in outlets if not any(r["source"] == o for r in rows)]
                            + [f"feed={f}" for f in feeds if not any(r["origin"] == f for r in rows)])
        if not rows or dry_run:
            report.stories_recomputed = sorted({r["story_id"] for r in rows})
            return report
        plan = _new_originals(engine, rows)
        report.new_originals = {old: new for old, (new, _) in plan.items()}
        try:
            with store.transaction():
                touched = store.remove_articles(rows, new_originals=plan, selector=_selector(ids, outlets, feeds),
                                                reason=reason or "no reason given")
                store.bump_generation()
        finally:
            engine.forget()  # this engine's own stream state (if any) refers to removed articles
        engine.refresh_stories(sorted(touched))
        remaining = {s for s in touched if store.story(s) is not None}
    report.stories_recomputed = sorted(remaining)
    report.stories_emptied = sorted(touched - remaining)
    log.info("articles forgotten", extra={"selector": _selector(ids, outlets, feeds), "articles": len(rows),
                                          "stories_recomputed": len(remaining), "stories_emptied": len(touched - remaining),
                                          "reason": reason})
    return report


__all__ = ["CopyReport", "ForgetReport", "backup", "forget", "restore", "story_list", "story_list_sha256"]
