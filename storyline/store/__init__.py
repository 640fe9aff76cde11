"""Storage: SQLite by default (a data directory); backends chosen by ``Settings.database_url``."""
from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .sqlite import IngestResult, SQLiteStore


def open_store(settings: Settings) -> SQLiteStore:
    """The store named by the settings: SQLite in ``data_dir`` unless ``database_url`` says
    otherwise."""
    url = settings.database_url
    if not url or url.startswith("sqlite:"):
        return SQLiteStore(settings)
    raise ConfigError(f"unsupported database_url {url!r}: only SQLite is available in this version")


__all__ = ["IngestResult", "SQLiteStore", "open_store"]
