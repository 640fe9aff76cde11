"""Typed records that flow through the pipeline: articles in, stories out."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def content_hash(title: str, text: str) -> str:
    """Hash of an article's normalized title and text; equal hashes are exact copies."""
    norm = " ".join(f"{title}\n{text}".casefold().split())  # runs of white space (\s, str.isspace) as one space
    return hashlib.sha1(norm.encode("utf-8", "surrogatepass")).hexdigest()  # raw input may hold lone surrogates


@dataclass(slots=True)
class Article:
    """One item as an outlet published it.

    ``id`` is unique within a run or store; ``origin`` says where it was read from (a feed URL,
    a page URL, ``file.jsonl:12``, or ``archive.warc.gz#record``).
    """

    id: str
    title: str = ""
    text: str = ""
    url: str = ""
    source: str = ""
    published: datetime | None = None
    language: str = ""
    fetched_at: datetime | None = None
    origin: str = ""
    author: str = ""
    content_hash: str = ""
    fetched_url: str = ""  # the address it was fetched or archived under (url is the canonical one)

    def __post_init__(self) -> None:
        if not self.content_hash:
            self.content_hash = content_hash(self.title, self.text)

    @property
    def body(self) -> str:
        """Title and text joined, for representations that want everything."""
        return f"{self.title}\n{self.text}".strip()

    @property
    def headline_only(self) -> bool:
        return not self.text.strip()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("published", "fetched_at"):
            d[key] = d[key].isoformat() if d[key] else None
        return d


@dataclass(slots=True)
class SummarySentence:
    """A sentence quoted verbatim from one article of a story."""

    text: str
    article: int  # index into the story's article list
    article_id: str = ""
    source: str = ""
    url: str = ""


@dataclass(slots=True)
class Summary:
    """Headline plus attributed extractive sentences; ``summarizer`` names what made it."""

    headline: str
    sentences: list[SummarySentence] = field(default_factory=list)
    summarizer: str = ""
    headline_article: int | None = None
    superseded: list[tuple[str, int | None]] = field(default_factory=list)  # (headline, article) it replaced

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "summary": self.text,
            "sentences": [asdict(s) for s in self.sentences],
            "summarizer": self.summarizer,
        }


@dataclass(slots=True)
class Story:
    """Articles about one event. ``articles`` are canonical items; ``reprints`` maps a canonical
    article id to the ids of the copies collapsed into it."""

    id: str
    articles: list[Article] = field(default_factory=list)
    reprints: dict[str, list[str]] = field(default_factory=dict)
    summary: Summary | None = None

    @property
    def size(self) -> int:
        return len(self.articles)

    @property
    def duplicates(self) -> int:
        return sum(len(v) for v in self.reprints.values())

    @property
    def outlets(self) -> list[str]:
        return sorted({a.source for a in self.articles if a.source})

    @property
    def first_seen(self) -> datetime | None:
        times = [a.published for a in self.articles if a.published]
        return min(times) if times else None

    @property
    def last_seen(self) -> datetime | None:
        times = [a.published for a in self.articles if a.published]
        return max(times) if times else None


@dataclass(slots=True)
class FeedState:
    """What storyline remembers about a subscribed feed between polls (its health included)."""

    url: str
    title: str = ""
    etag: str = ""
    last_modified: str = ""
    interval_s: float = 1800.0
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    entries_seen: int = 0
