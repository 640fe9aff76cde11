"""storyline: a self-hosted news story engine.

The Python API mirrors the command line::

    from storyline import digest, read_paths
    stories = digest(list(read_paths(["items.jsonl"])))
    for story in stories:
        print(story.summary.headline, story.size, story.duplicates)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import (
    BlockedAddressError, ConfigError, ExtractionError, IngestError, InputError, StorageError, StorylineError,
)
from .models import Article, FeedState, Story, Summary, SummarySentence

if TYPE_CHECKING:
    from .ingest import ReadReport, read_paths
    from .pipeline import Pipeline, digest

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The readers and the pipeline, imported when first used: they load parsers and models, and
    ``storyline --help`` (which imports this package) needs none of them."""
    if name in ("ReadReport", "read_paths"):
        from . import ingest

        return getattr(ingest, name)
    if name in ("Pipeline", "digest"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'storyline' has no attribute {name!r}")

__all__ = [
    "Article", "FeedState", "Story", "Summary", "SummarySentence", "Settings", "Pipeline", "digest",
    "read_paths", "ReadReport", "StorylineError", "InputError", "IngestError", "ExtractionError",
    "BlockedAddressError", "StorageError", "ConfigError", "__version__",
]
