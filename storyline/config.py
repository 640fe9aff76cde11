"""One typed settings object, built at the edge (CLI, web, library) and passed inward."""
from __future__ import annotations

import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
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


def one_blas_thread() -> None:
    """Let BLAS (numpy's and scipy's OpenBLAS) run one thread in this process and its helpers,
    unless ``$OPENBLAS_NUM_THREADS`` says otherwise; the command line calls it before numpy loads.

    Storyline's matrix products are small (a story against its window, a batch of feature rows)
    and it spreads its work over its own helper processes, as many as the cores; OpenBLAS's threads
    only split those products and spin between them. Measured (issue 20, 2 cores): the related lists
    of the 10k store took 1.33-1.56 s and 2.0-2.4 s of CPU with them, 1.15-1.27 s and 1.1-1.25 s
    with one thread (the same lists to the bit), and a 10k ingest's spinning threads were 2.75 % of
    its CPU samples (``perf``)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run can be told. Defaults are the product's recommended values."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite at data_dir/storyline.db; or postgresql://user@host/db
    max_words: int = 50  # summary budget
    dedup_threshold: float = 0.8  # MinHash Jaccard for near-duplicates
    dedup_num_perm: int = 128
    dedup_horizon_days: float = 7.0  # ingest: near copies searched among originals of the last N days
    dedup_horizon_items: int = 100_000  # ... and at most this many (dated; undated apart)
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
    writer_wait: float = 600.0  # seconds a writer waits for another to finish before it is refused
    workers: int = 1  # helper processes preparing long inputs ahead of the stream; 0: none
    base_url: str = ""  # public address (https://news.example.org) for feed links; empty: the listening address
    trusted_proxies: str = ""  # comma-separated addresses/networks whose X-Forwarded-For/-Proto are believed

    def with_(self, **changes: Any) -> "Settings":
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def sqlite_path(self) -> Path:
        return Path(self.data_dir) / "storyline.db"

    @property
    def config_path(self) -> Path:
        return Path(os.environ.get("STORYLINE_CONFIG") or Path(self.data_dir) / "storyline.toml")

    @classmethod
    def load(cls, **overrides: Any) -> "Settings":
        """Defaults, then ``storyline.toml`` (``$STORYLINE_CONFIG`` or in the data directory),
        then ``STORYLINE_<NAME>`` environment variables, then ``overrides`` (CLI flags)."""
        settings = cls()
        if overrides.get("data_dir") is not None:
            settings = settings.with_(data_dir=overrides["data_dir"])
        values: dict[str, Any] = {}
        path = settings.config_path
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: cannot read settings ({exc})") from exc
        for f in fields(cls):
            env = os.environ.get(f"STORYLINE_{f.name.upper()}")
            if env is not None:
                values[f.name] = env
        values.pop("data_dir", None)  # chosen before the file is found: $STORYLINE_DATA_DIR or --data-dir
        typed = {name: _coerce(name, value) for name, value in values.items()}
        return settings.with_(**typed).with_(**overrides)


def _coerce(name: str, value: Any) -> Any:
    """Convert a config-file or environment value to the type of setting ``name``."""
    defaults = {f.name: (f.default if f.default is not MISSING else f.default_factory()) for f in fields(Settings)}  # type: ignore[misc]
    if name not in defaults:
        raise ConfigError(f"unknown setting {name!r}; see docs/settings.md")
    default = defaults[name]
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            if str(value).strip().lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if isinstance(default, Path):
            return Path(value).expanduser()
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name} = {value!r} is not a valid {type(default).__name__}") from exc
