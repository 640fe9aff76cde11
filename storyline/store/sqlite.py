"""SQLite storage: one file in the data directory, WAL mode, one writer.

Readers (``serve``, ``stories``, ``export``) read in WAL mode and never wait for the writer; they
see each batch whole or not at all, because the engine writes a batch in one ``BEGIN IMMEDIATE``
transaction. The one writer is enforced by an exclusive ``flock`` on ``storyline.db.writer``
next to the database (the kernel releases it when the process dies, even by ``kill -9``); the file
names the holder (pid, command, since when) for the message a second writer gets.
"""
from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..config import Settings
from ..errors import StorageError
from .base import SQLStore, describe_writer, writer_identity
from .migrate import migrations  # noqa: F401  (was importable from here)


# Pages the write-ahead log may hold during a write session before a commit folds it into the
# database (SQLite's default, kept outside sessions: 1,000). A checkpoint copies every page the
# log holds and waits for the disk twice; in a 10k-article ingest the default made 67 of them
# (134 syncs, 0.71 s of waiting), copying again the pages rewritten in between (the search index's
# segments, story rows). At 16,000 (64 MB of 4 KB pages): 8 checkpoints, 0.36 s of syncs, and the
# whole ingest 0.95 s shorter in six paired rounds (t -2.72; docs/scale.md, session 39). The log
# file may reach that size while a writer works; it is folded in at the session's end.
SESSION_WAL_PAGES = 16_000
DEFAULT_WAL_PAGES = 1_000


class SQLiteStore(SQLStore):
    """Articles, stories and engine state in ``<data_dir>/storyline.db``."""

    dialect = "sqlite"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.sqlite_path
        self.where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database at {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        self._lock_file: Any = None
        self._lock_depth = 0
        try:
            self._wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:  # not a database, damaged, or locked past the wait
            self.db.close()
            raise StorageError(f"cannot use the database at {self.path}: {exc} (if the file is damaged, restore a copy "
                               "made by `storyline backup`, or move it away to start an empty store)") from exc

    def _wal(self) -> None:
        # switching a new file to WAL takes a lock another process may hold for a moment
        for attempt in range(50):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    # -- schema ---------------------------------------------------------------------------
    def _applied(self) -> set[int]:
        has_table = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
        found = {int(r[0]) for r in self.db.execute("SELECT version FROM schema_migrations")} if has_table else set()
        # before schema_migrations existed, user_version counted the migrations applied in order
        upto = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if not has_table:
            return set(range(1, upto + 1)) if upto <= 3 else {upto}
        return found | ({upto} if upto > max(found, default=0) else set())

    def _mark_applied(self, version: int) -> None:
        applied = self._applied()
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        self.db.executemany("INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (?, datetime('now'))",
                            [(v,) for v in sorted(applied | {version})])
        self.db.execute(f"PRAGMA user_version = {max(applied | {version})}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (nested calls join the outer one)."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- the one writer -------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".writer")

    def _try_lock(self, command: str) -> bool:
        fh = open(self.lock_path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        except BaseException:
            fh.close()
            raise
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(writer_identity(command)))
        fh.flush()
        self._lock_file = fh
        self.db.execute(f"PRAGMA wal_autocheckpoint={SESSION_WAL_PAGES}")
        return True

    def _unlock(self) -> None:
        try:
            self.db.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_WAL_PAGES}")
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # the session's log folded in, as its last commit would have
        except sqlite3.Error:  # closed meanwhile: closing folded it in
            pass
        fh, self._lock_file = self._lock_file, None
        fh.seek(0)
        fh.truncate()
        fh.flush()
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()

    def _holder(self) -> str:
        try:
            info = json.loads(self.lock_path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            info = {}
        return describe_writer(info) if info else "a process that has not said who it is yet"

    _busy_holder = _holder

    def writer_holder(self) -> str | None:
        """Who holds the writer lock now, or None."""
        with open(self.lock_path, "a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return self._holder()
            fcntl.flock(fh, fcntl.LOCK_UN)
        return None

    def _index_new(self, after: int) -> None:
        """Index the articles stored after ``after`` for full-text search in one statement
        (migration 0055: a trigger per row took twice as long for the same index)."""
        self.db.execute("INSERT INTO articles_fts(rowid, title, text) SELECT seq, title, text FROM articles "
                        "WHERE seq > ? ORDER BY seq", (after,))

    def _text_param(self, text: str | bytes) -> tuple[str, Any]:
        # UTF-8 bytes are bound as a blob and cast: stored as the same TEXT, never turned into a str
        return ("CAST(? AS TEXT)", text) if isinstance(text, bytes) else ("?", text)

    def _unindex_articles(self, marks: str, ids: list[str]) -> None:
        """Drop articles from the FTS5 index (an external-content table: no delete trigger)."""
        self.db.execute("INSERT INTO articles_fts(articles_fts, rowid, title, text) "
                        f"SELECT 'delete', seq, title, text FROM articles WHERE id IN ({marks})", ids)

    def close(self) -> None:
        self.db.close()


def lock_info(path: Path) -> dict[str, Any]:
    """The writer lock file's content (pid, command, since), for tools."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8") or "{}"))
    except (OSError, ValueError):
        return {}


__all__ = ["SQLiteStore", "lock_info"]
