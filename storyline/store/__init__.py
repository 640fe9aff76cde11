"""Storage: SQLite by default (a data directory); PostgreSQL when ``Settings.database_url`` says
``postgresql://...``. Stores only persist (see :class:`~storyline.store.base.Store`); the engine
(:mod:`storyline.engine`) decides what to write."""
from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .base import IngestResult, SavedState, SQLStore, Store, WriterBusy
from .sqlite import SQLiteStore


def open_store(settings: Settings) -> SQLStore:
    """The store named by the settings: SQLite in ``data_dir`` unless ``database_url`` names a
    PostgreSQL database."""
    url = settings.database_url
    if not url or url.startswith("sqlite:"):
        return SQLiteStore(settings)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(settings)
    raise ConfigError(f"unsupported database_url {url!r}: use postgresql://user@host/db, or leave it empty for SQLite")


__all__ = ["IngestResult", "SQLStore", "SQLiteStore", "SavedState", "Store", "WriterBusy", "open_store"]
