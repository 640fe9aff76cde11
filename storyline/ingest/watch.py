"""Polling subscribed feeds: per-feed interval, conditional GET, backoff, feed health.

The :class:`Watcher` talks to storage only through :class:`FeedStore` (four methods) and to
the network only through a :class:`~storyline.ingest.fetch.Fetcher`. Feeds are fetched in
worker threads (at most ``Settings.max_concurrency`` at once, hosts spaced by
``Settings.per_host_delay``); every store call happens on the calling thread, so a SQLite
store keeps a single writer.

:func:`read_url` is the one-shot counterpart for ``storyline ingest URL``: it fetches a URL and
reads it as a feed, an OPML list or an article page, whichever it is.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Iterable, Protocol, runtime_checkable

from ..config import Settings
from ..errors import IngestError, InputError
from ..models import Article, FeedState
from .feeds import looks_like_json_feed, parse_feed
from .fetch import ACCEPT_FEED, Fetcher, FetchResult
from .opml import OpmlFeed, parse_opml
from .pages import complete_teaser, extract_article, is_teaser
from . import subscriptions
from .subscriptions import MAX_BACKOFF_S, backoff_seconds

log = logging.getLogger("storyline.ingest")
PAGES_PER_POLL = 10  # teaser pages fetched per feed and poll at most


@runtime_checkable
class FeedStore(Protocol):
    """What the watcher needs from storage (the SQLite store implements it)."""

    def get_feed(self, url: str) -> FeedState | None:
        """The state of a subscribed feed, or None."""
        ...

    def save_feed(self, state: FeedState) -> None:
        """Insert or replace the state of ``state.url``."""
        ...

    def list_feeds(self) -> list[FeedState]:
        """Every subscribed feed."""
        ...

    def add_articles(self, articles: Iterable[Article]) -> int:
        """Store articles not stored yet (by id); return how many were new."""
        ...


@dataclass(slots=True)
class FeedPoll:
    """The outcome of polling one feed: ``status`` is ``"ok"``, ``"not-modified"`` or ``"error"``."""

    url: str
    status: str
    title: str = ""
    entries: int = 0
    new_articles: int = 0
    error: IngestError | None = None
    warnings: list[str] = field(default_factory=list)
    page_errors: list[InputError] = field(default_factory=list)


@dataclass(slots=True)
class PollReport:
    """What one :meth:`Watcher.poll_once` did; ``ok`` is false when any feed failed."""

    feeds: list[FeedPoll] = field(default_factory=list)

    @property
    def polled(self) -> int:
        return len(self.feeds)

    @property
    def new_articles(self) -> int:
        return sum(f.new_articles for f in self.feeds)

    @property
    def not_modified(self) -> int:
        return sum(f.status == "not-modified" for f in self.feeds)

    @property
    def errors(self) -> list[IngestError]:
        return [f.error for f in self.feeds if f.error is not None]

    @property
    def page_errors(self) -> list[InputError]:
        return [e for f in self.feeds for e in f.page_errors]

    @property
    def ok(self) -> bool:
        return not self.errors


def _utc(now: datetime | None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


class Watcher:
    """Polls the feeds of a store when they are due and stores their new articles.

    Args:
        store: a :class:`FeedStore`.
        settings: fetch settings (see :class:`~storyline.ingest.fetch.Fetcher`).
        fetcher: shared fetcher; one is made from ``settings`` when omitted (and closed by
            :meth:`close`).
        fetch_pages: fetch the page of teaser entries (robots.txt respected).
        max_backoff_s: longest wait after repeated failures.
    """

    def __init__(self, store: FeedStore, settings: Settings, *, fetcher: Fetcher | None = None,
                 fetch_pages: bool = True, max_backoff_s: float = MAX_BACKOFF_S) -> None:
        if not isinstance(store, FeedStore):
            raise TypeError(f"{type(store).__name__} lacks the FeedStore methods "
                            "get_feed, save_feed, list_feeds, add_articles")
        self.store = store
        self.settings = settings
        self.fetch_pages = fetch_pages
        self.max_backoff_s = max_backoff_s
        self._own_fetcher = fetcher is None
        self.fetcher = fetcher or Fetcher(settings)
        self._seen: dict[str, set[str]] = {}

    def close(self) -> None:
        if self._own_fetcher:
            self.fetcher.close()

    def subscribe(self, url: str, *, title: str = "", interval_s: float | None = None) -> FeedState:
        """Add ``url`` to the store (or update its title/interval) and return its state."""
        return subscriptions.subscribe(self.store, url, title=title, interval_s=interval_s)

    def due_feeds(self, now: datetime | None = None) -> list[FeedState]:
        """Feeds whose ``next_poll_at`` has come (or that were never polled), oldest first."""
        return subscriptions.due(self.store, now)

    def poll_once(self, now: datetime | None = None) -> PollReport:
        """Poll every due feed once, store new articles and feed health.

        Args:
            now: the time to schedule from (default: the current UTC time).

        Returns:
            A :class:`PollReport` with one :class:`FeedPoll` per feed polled.
        """
        now = _utc(now)
        due = self.due_feeds(now)
        report = PollReport()
        if not due:
            return report
        workers = max(1, min(self.settings.max_concurrency, len(due)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="storyline-poll") as pool:
            futures = [pool.submit(self._fetch_feed, state) for state in due]
            for state, future in zip(due, futures, strict=True):
                poll, result, articles = future.result()
                self._record(state, poll, result, articles, now)
                report.feeds.append(poll)
        return report

    def run(self, stop_event: threading.Event, *, max_sleep_s: float = 60.0) -> None:
        """Poll until ``stop_event`` is set, sleeping until the next feed is due (at most
        ``max_sleep_s`` at a time, so new subscriptions are picked up)."""
        while not stop_event.is_set():
            report = self.poll_once()
            for poll in report.feeds:
                if poll.error is not None:
                    log.warning("%s", poll.error)
            pending = [_utc(f.next_poll_at) for f in self.store.list_feeds() if f.next_poll_at]
            wait = max_sleep_s
            if pending:
                wait = min(wait, max(0.0, (min(pending) - _utc(None)).total_seconds()))
            stop_event.wait(max(wait, 0.05))

    # -- worker side (no store access) ------------------------------------------------------

    def _fetch_feed(self, state: FeedState) -> tuple[FeedPoll, FetchResult | None, list[Article]]:
        try:
            result = self.fetcher.fetch(state.url, etag=state.etag, last_modified=state.last_modified,
                                        accept=ACCEPT_FEED)
            if result.not_modified:
                return FeedPoll(state.url, "not-modified"), result, []
            feed = parse_feed(result.content, origin=state.url, headers=result.headers)
        except IngestError as exc:
            return FeedPoll(state.url, "error", error=exc), None, []
        except Exception as exc:  # noqa: BLE001 - one feed never stops a poll of the others
            error = IngestError(state.url, f"feed could not be read ({type(exc).__name__}: {str(exc)[:200]})")
            return FeedPoll(state.url, "error", error=error), None, []
        poll = FeedPoll(state.url, "ok", title=feed.title, entries=len(feed.articles), warnings=list(feed.warnings))
        articles = [replace(a, fetched_at=result.fetched_at) for a in feed.articles]
        if self.fetch_pages:
            articles = self._complete_teasers(state.url, articles, poll)
        return poll, result, articles

    def _complete_teasers(self, url: str, articles: list[Article], poll: FeedPoll) -> list[Article]:
        seen = self._seen.get(url, set())
        budget = PAGES_PER_POLL
        completed = []
        for article in articles:
            if budget > 0 and article.id not in seen and is_teaser(article):
                budget -= 1
                try:
                    article = complete_teaser(article, self.fetcher)
                except InputError as exc:
                    poll.page_errors.append(exc)
            completed.append(article)
        return completed

    # -- calling thread (store writes) ------------------------------------------------------

    def _record(self, state: FeedState, poll: FeedPoll, result: FetchResult | None,
                articles: list[Article], now: datetime) -> None:
        if poll.error is not None:  # 429/503 may carry Retry-After
            subscriptions.record_failure(self.store, state.url, str(poll.error), state=state, now=now,
                                         retry_after=getattr(poll.error, "retry_after", None),
                                         max_backoff_s=self.max_backoff_s)
            return
        if articles:
            poll.new_articles = self.store.add_articles(articles)
            self._seen.setdefault(state.url, set()).update(a.id for a in articles)
        subscriptions.record_success(self.store, state, title=poll.title, etag=result.etag if result else "",
                                     last_modified=result.last_modified if result else "",
                                     new_articles=poll.new_articles, now=now)


# ---------------------------------------------------------------- one-shot reading of a URL

@dataclass(slots=True)
class UrlRead:
    """What :func:`read_url` found at a URL: ``kind`` is ``"feed"``, ``"opml"`` or ``"page"``."""

    url: str
    kind: str
    articles: list[Article] = field(default_factory=list)
    feeds: list[OpmlFeed] = field(default_factory=list)
    title: str = ""
    warnings: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    fetch: FetchResult | None = None


def sniff_kind(content: bytes, content_type: str = "") -> str:
    """``"feed"``, ``"opml"`` or ``"page"`` for a fetched document."""
    if looks_like_json_feed(content):
        return "feed"
    head = content[:2048].lstrip().lower()
    if b"<opml" in head:
        return "opml"
    if any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf ")):
        return "feed"
    if "html" in content_type or b"<html" in head or b"<!doctype html" in head:
        return "page"
    return "feed"


def read_url(url: str, fetcher: Fetcher, *, fetch_pages: bool = True) -> UrlRead:
    """Fetch ``url`` and read it as whatever it is: a feed (articles, teasers completed from
    their pages when ``fetch_pages``), an OPML list (the feeds it lists, not fetched) or an
    article page (robots.txt respected).

    Raises:
        IngestError: the URL could not be fetched or read (refused address included).
    """
    first = fetcher.fetch(url, accept=ACCEPT_FEED + ", text/x-opml;q=0.9, text/html;q=0.8")
    kind = sniff_kind(first.content, first.content_type)
    read = UrlRead(url=first.url, kind=kind, fetch=first)
    if kind == "opml":
        read.feeds = parse_opml(first.content, origin=url)
        return read
    if kind == "page":
        if not fetcher.allowed_by_robots(first.url):
            raise IngestError(first.url, fetcher.robots_refusal(first.url))
        read.articles = [extract_article(first.content, url=first.url, origin=first.url, fetched_at=first.fetched_at)]
        return read
    feed = parse_feed(first.content, origin=url, headers=first.headers)
    read.title, read.warnings = feed.title, list(feed.warnings)
    for article in feed.articles:
        article.fetched_at = first.fetched_at
        if fetch_pages and is_teaser(article):
            try:
                article = complete_teaser(article, fetcher)
            except InputError as exc:
                read.errors.append(exc)
        read.articles.append(article)
    return read


__all__ = ["FeedPoll", "FeedStore", "PollReport", "UrlRead", "Watcher", "backoff_seconds", "read_url", "sniff_kind"]
