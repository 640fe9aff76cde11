"""Sources -> Article: one entry point per input type, all feeding the same records.

``read_paths`` and ``READERS`` (in :mod:`storyline.ingest.files`) are imported when first used:
the readers load feed, HTML and WARC parsers that most commands never need.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import ReadReport

if TYPE_CHECKING:
    from .files import READERS, read_paths


def __getattr__(name: str) -> Any:
    if name in ("READERS", "read_paths"):
        from . import files

        return getattr(files, name)
    raise AttributeError(f"module 'storyline.ingest' has no attribute {name!r}")


__all__ = ["READERS", "ReadReport", "read_paths"]
