"""One typed settings object, built at the edge (CLI, web, library) and passed inward."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError


def default_data_dir() -> Path:
    """``$STORYLINE_DATA_DIR`` or the platform's user data directory."""
    env = os.environ.get("STORYLINE_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("storyline", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run can be told. Defaults are the product's recommended values."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite at data_dir/storyline.db
    max_words: int = 50  # summary budget
    dedup_threshold: float = 0.8  # MinHash Jaccard for near-duplicates
    dedup_num_perm: int = 128
    cluster_window_days: float = 3.0  # how far back a new article looks for its story
    strict: bool = False
    allow_private_network: bool = False
    fetch_pages: bool = True  # fetch the page of a feed entry that is only a teaser
    user_agent: str = "storyline/0.1 (+https://github.com/storyline-news/storyline)"
    fetch_timeout: float = 20.0
    max_fetch_bytes: int = 10_000_000
    per_host_delay: float = 1.0
    max_concurrency: int = 8
    editor_token: str = ""  # empty: editorial actions disabled
    embedder: str = ""  # empty: the built-in default; or a sentence-transformers model path

    def with_(self, **changes: Any) -> "Settings":
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def sqlite_path(self) -> Path:
        return Path(self.data_dir) / "storyline.db"
