"""PostgreSQL storage (psycopg 3): the same tables, migrations and SQL as SQLite.

Selected by ``database_url = "postgresql://..."`` (``--database-url``, ``$STORYLINE_DATABASE_URL``).
The connection runs in autocommit mode; :meth:`PostgresStore.transaction` opens an explicit
transaction, so a batch is committed whole and readers (READ COMMITTED) never see half of it.
The one writer is a session-level advisory lock (released by the server when the writer's
connection ends, even after ``kill -9``); a second writer finds the holder's pid, command and start
time in ``pg_stat_activity.application_name``. Migrations take a transaction-level advisory lock
before reading ``schema_migrations``. A reader's statements can be planned for their own
parameters, never once for all (:meth:`PostgresStore.plan_each_run`, which the web server calls).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..config import Settings
from ..errors import StorageError
from .base import SQLStore, describe_writer, writer_identity

WRITER_LOCK = 0x5354_4F52_0001  # "STOR" 1: the one writer
SCHEMA_LOCK = 0x5354_4F52_0002  # "STOR" 2: migrations
_PLACEHOLDER = re.compile(r"\?")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Row(tuple):  # type: ignore[type-arg]
    """A result row that indexes by position and by column name, like ``sqlite3.Row``."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names[key])
            except KeyError:
                raise IndexError(f"no column {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    desc = cursor.description
    names = {d.name: i for i, d in enumerate(desc)} if desc else {}

    def make(values: Sequence[Any]) -> Row:
        row = Row(bytes(v) if isinstance(v, memoryview) else v for v in values)
        row._names = names
        return row

    return make


class _Connection:
    """``execute(sql, params)`` with SQLite's ``?`` placeholders on a psycopg connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def _sql(sql: str, named: bool = False) -> str:
        sql = sql.replace("%", "%%")
        if named:  # SQLite's :name -> psycopg's %(name)s (casts like ::text are left alone)
            return _NAMED.sub(lambda m: f"%({m.group(1)})s", sql)
        return _PLACEHOLDER.sub("%s", sql)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        cur = self.conn.cursor(row_factory=_row_factory)
        if params:
            cur.execute(self._sql(sql, isinstance(params, dict)), params)
        else:
            cur.execute(sql)  # type: ignore[arg-type]  # no placeholders to map
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cur = self.conn.cursor(row_factory=_row_factory)
        if rows:
            cur.executemany(self._sql(sql), rows)
        return cur


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class PostgresStore(SQLStore):
    """Articles, stories and engine state in a PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, settings: Settings) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - a base dependency
            raise StorageError("database_url names PostgreSQL but psycopg is not installed: pip install 'psycopg[binary]'") from exc
        self.settings = settings
        self.url = settings.database_url
        self.where = redact(self.url)
        self.path = self.where  # what messages print where SQLite prints its file
        self._psycopg = psycopg
        try:
            self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {self.where}: {str(exc).strip()}") from exc
        self.db = _Connection(self.conn)
        self._lock_depth = 0
        self.migrate()

    def plan_each_run(self) -> None:
        """Plan every statement of this connection for its own parameters. psycopg prepares a
        statement run 5 times, and PostgreSQL may then plan it once for any parameters: a page's
        time window or search then read every story (50 ms at 100k articles) where their own
        values would use an index (0.3 ms). For readers: a writer's by-key statements plan alike
        for any values, and replanning each of them cost it about 10 % of its database time."""
        self.db.execute("SET plan_cache_mode = force_custom_plan")

    # -- schema ---------------------------------------------------------------------------
    def _applied(self) -> set[int]:
        has = self.db.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
        if not has:
            return set()
        return {int(r[0]) for r in self.db.execute("SELECT version FROM schema_migrations").fetchall()}

    def _mark_applied(self, version: int) -> None:
        self.db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, now()::text)", (version,))

    @contextmanager
    def _schema_lock(self) -> Iterator[Any]:
        with self.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
            yield self.db

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One transaction (nested calls join the outer one)."""
        if self.conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
            yield self.db
            return
        try:
            with self.conn.transaction():
                yield self.db
        except self._psycopg.Error as exc:
            raise StorageError(f"{self.where}: {str(exc).strip()}") from exc

    # -- the one writer -------------------------------------------------------------------
    def _try_lock(self, command: str) -> bool:
        me = writer_identity(command)
        name = f"storyline {me['pid']} {me['since']} {me['command']}"[:63]
        self.db.execute("SELECT set_config('application_name', ?, false)", (name,))
        return bool(self.db.execute("SELECT pg_try_advisory_lock(?)", (WRITER_LOCK,)).fetchone()[0])

    def _unlock(self) -> None:
        if not self.conn.closed:
            self.db.execute("SELECT pg_advisory_unlock(?)", (WRITER_LOCK,))

    def writer_holder(self) -> str | None:
        """Who holds the writer lock now, or None."""
        row = self.db.execute(
            "SELECT a.application_name, a.pid, a.backend_start::text FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = ? LIMIT 1", (WRITER_LOCK,),
        ).fetchone()
        if row is None:
            return None
        parts = str(row[0]).split(" ", 3)
        if len(parts) == 4 and parts[0] == "storyline":
            return describe_writer({"pid": parts[1], "since": parts[2], "command": parts[3]})
        return describe_writer({"pid": f"{row[1]} (server)", "since": row[2], "command": row[0] or "?"})

    def close(self) -> None:
        self.conn.close()


__all__ = ["PostgresStore", "Row", "redact"]
