"""storyline: a self-hosted news story engine.

The Python API mirrors the command line::

    from storyline import digest, read_paths
    stories = digest(list(read_paths(["items.jsonl"])))
    for story in stories:
        print(story.summary.headline, story.size, story.duplicates)
"""
from .config import Settings
from .errors import (
    BlockedAddressError, ConfigError, ExtractionError, IngestError, InputError, StorageError, StorylineError,
)
from .ingest import ReadReport, read_paths
from .models import Article, FeedState, Story, Summary, SummarySentence
from .pipeline import Pipeline, digest

__version__ = "0.1.0"

__all__ = [
    "Article", "FeedState", "Story", "Summary", "SummarySentence", "Settings", "Pipeline", "digest",
    "read_paths", "ReadReport", "StorylineError", "InputError", "IngestError", "ExtractionError",
    "BlockedAddressError", "StorageError", "ConfigError", "__version__",
]
