"""Following a stored story over time: what is new since a reader's last look, day by day.

A report is *first seen* at its ``published`` time, else when it was fetched, else when it was
stored (``queries.SEEN_SQL``). For a time T, the reports first seen after T are the update; the
ones up to T are what the reader already had. The update's sentences come from
:func:`storyline.summarize.updates.update_summary` (real sentences of the later reports that
pass its redundancy test against the earlier ones, chosen by the story's summarizer).

The per-story feeds carry one update per UTC day with news: the reports first seen that day
against everything seen before it.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import StorylineError
from .ingest.dates import parse_date, shifted, utc_or_none
from .models import Article
from .store import queries
from .summarize import DEFAULT_MAX_WORDS, Summarizer, default_summarizer
from .summarize.updates import update_summary

if TYPE_CHECKING:
    from .store.base import SQLStore

FEED_DAYS = 20
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the newest days with news that a story's feed carries


class SinceError(StorylineError, ValueError):
    """A ``since`` value that is not a time."""


def parse_since(value: str) -> datetime:
    """The reader's time from an ISO 8601 time (``2026-03-11T09:00Z``; UTC unless it names a zone)
    or date. A bare date means the reader saw that whole day: ``2026-03-11`` is the end of 11 March
    (UTC), so what is new starts on the 12th.

    Raises:
        SinceError: ``value`` is not a date or time.
    """
    text = value.strip()
    parsed = parse_date(text) if text and not text.isdigit() else None
    if parsed is not None and _DATE_ONLY.match(text):
        return shifted(parsed, timedelta(days=1) - timedelta(microseconds=1))
    if parsed is None:
        raise SinceError(f"since={value[:40]!r} is not a date or time; give ISO 8601, e.g. 2026-03-11 or "
                         "2026-03-11T09:00:00Z")
    return parsed


@dataclass(frozen=True, slots=True)
class Report:
    """One stored article of a story, with when it was first seen and what it reprints."""

    article: Article
    seen: datetime | None
    reprint_of: str | None

    @property
    def original(self) -> bool:
        return self.reprint_of is None


def _article(row: sqlite3.Row) -> Article:
    return Article(id=row["id"], title=row["title"], text=row["text"], url=row["url"], source=row["source"],
                   published=parse_date(row["published"]), language=row["language"],
                   fetched_at=parse_date(row["fetched_at"]), origin=row["origin"], author=row["author"],
                   content_hash=row["content_hash"], fetched_url=row["fetched_url"])


def story_reports(store: SQLStore, story_id: str) -> list[Report]:
    """The story's articles, earliest seen first (undated last)."""
    return [Report(_article(r), parse_date(r["seen"]), None if r["canonical_id"] == r["id"] else r["canonical_id"])
            for r in queries.story_reports(store, story_id)]


_DEFAULT: list[Summarizer] = []  # the product summarizer, made once per process for plain stores


def _summarizer(store: SQLStore) -> Summarizer:
    """The engine's summarizer when ``store`` is an engine, else the product's default."""
    found = getattr(store, "summarizer", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if not _DEFAULT:
        _DEFAULT.append(default_summarizer())
    return _DEFAULT[0]


def _after(report: Report, since: datetime) -> bool:
    return report.seen is not None and report.seen > since


def update(store: SQLStore, story_id: str, since: datetime, *, until: datetime | None = None,
           max_words: int | None = None, reports: Sequence[Report] | None = None) -> dict[str, Any]:
    """What a reader who looked at ``story_id`` at ``since`` has not seen (up to, not including, ``until``).

    Returns:
        ``{"since", "until", "latest", "new_reports", "new_reprints", "new_outlets", "headline",
        "sentences": [{"text", "article_id", "outlet", "published"}], "reports": [...],
        "candidates"}``; ``sentences`` is empty when the later reports add nothing new.
    """
    reports = list(reports if reports is not None else story_reports(store, story_id))
    window = [r for r in reports if _after(r, since) and (until is None or r.seen < until)]  # type: ignore[operator]
    known = [r.article for r in reports if r.original and not _after(r, since)]
    fresh = [r for r in window if r.original]
    budget = max_words or getattr(getattr(store, "settings", None), "max_words", None) or DEFAULT_MAX_WORDS
    result = update_summary(known, [r.article for r in fresh], _summarizer(store), since=since, max_words=budget)
    seen_of = {r.article.id: r.seen for r in window}
    return {
        "since": since.isoformat(), "until": until.isoformat() if until else None,
        "since_day": since.date().isoformat() if (since.hour, since.minute, since.second, since.microsecond) == (
            23, 59, 59, 999999) else None,  # a bare date: "after that day"
        "latest": _iso(max((r.seen for r in window if r.seen), default=None)),
        "new_reports": len(fresh), "new_reprints": len(window) - len(fresh),
        "new_outlets": sorted({r.article.source for r in window if r.article.source}),
        "headline": result.summary.headline,
        "sentences": [{"text": s.text, "article_id": s.article_id, "outlet": s.source,
                       "published": _iso(seen_of.get(s.article_id))} for s in result.summary.sentences],
        "reports": [{"id": r.article.id, "title": r.article.title, "outlet": r.article.source, "url": r.article.url,
                     "seen": _iso(r.seen), "reprint_of": r.reprint_of} for r in window],
        "candidates": result.candidates,
    }


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def daily_updates(store: SQLStore, story_id: str, *, days: int = FEED_DAYS) -> list[dict[str, Any]]:
    """One update per UTC day with reports (newest first, at most ``days``): that day's reports
    against everything first seen before the day. The first day's entry is the story as first
    reported (nothing was known before it)."""
    reports = story_reports(store, story_id)
    dates = sorted({seen.date() for seen in (utc_or_none(r.seen) for r in reports if r.seen) if seen}, reverse=True)[:days]
    out = []
    for day in dates:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        entry = update(store, story_id, shifted(start, -timedelta(microseconds=1)), until=shifted(start, timedelta(days=1)),
                       reports=reports)
        entry["since"] = start.isoformat()
        entry["day"] = day.isoformat()
        out.append(entry)
    return out


__all__ = ["FEED_DAYS", "Report", "SinceError", "daily_updates", "parse_since", "story_reports", "update"]
