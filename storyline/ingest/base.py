"""What every reader shares: the :class:`ReadReport` it reports to, the :data:`Reader` signature,
and :func:`stable_id` for ids made from where an item came from.

This module sits below the readers (``files``, ``feeds``, ``pages``, ``warc``, ``opml``) and
imports none of them, so they can all use it without pointing back at each other.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..errors import InputError
from ..models import Article


@dataclass
class ReadReport:
    """What a read produced: a count of items, one error per bad item or file, and warnings
    (values changed or dropped at the boundary, repeated ids) that did not stop an item."""

    items: int = 0
    errors: list[InputError] = field(default_factory=list)
    files: int = 0
    warnings: list[InputError] = field(default_factory=list)

    def error(self, where: str, reason: str) -> None:
        self.errors.append(InputError(where, reason))

    def warn(self, where: str, reason: str) -> None:
        self.warnings.append(InputError(where, reason))


Reader = Callable[[Path, ReadReport], Iterator[Article]]
"""A reader: ``(path, report) -> articles``, registered by suffix in ``ingest.files.READERS``."""


def stable_id(*parts: str) -> str:
    """A 20-hex-digit id that depends only on ``parts`` (feed + entry, or archive + record)."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


__all__ = ["ReadReport", "Reader", "stable_id"]
