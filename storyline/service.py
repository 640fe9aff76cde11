"""The service side: ingest any mix of sources into a store, and keep feeds polled.

``ingest_sources`` is what ``storyline ingest`` runs: local files and folders go through the
file readers; WARC archives are read resumably (a checkpoint per file in the store); OPML lists
(files or URLs) subscribe their feeds and read them once; other URLs are fetched and read as a
feed (and subscribed) or an article page. Every failure is reported and recorded; the rest of
the run continues.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from .config import Settings
from .errors import InputError
from .ingest import ReadReport, read_paths
from .ingest import subscriptions
from .ingest.boundary import path_identity
from .ingest.files import _expand, _suffix
from .models import Article, FeedState
from .engine import Engine, IngestResult

if TYPE_CHECKING:
    from .ingest.watch import UrlRead

Progress = Callable[[int], None]
_WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
_CHUNK = 256


@dataclass
class IngestSummary:
    """Totals of an ingest run across every source."""

    result: IngestResult = field(default_factory=IngestResult)
    feeds_subscribed: int = 0
    warc_skipped: list[str] = field(default_factory=list)

    def absorb(self, other: IngestResult) -> None:
        r = self.result
        r.seen += other.seen
        r.new += other.new
        r.reprints += other.reprints
        r.already_stored += other.already_stored
        r.stories_touched |= other.stories_touched


def is_url(source: str) -> bool:
    return source[:8].lower().startswith(("http://", "https://"))


def _is_warc(path: Path) -> bool:
    return path.name.lower().endswith(_WARC_SUFFIXES)


def ingest_sources(store: Engine, sources: Sequence[str], settings: Settings, report: ReadReport,
                   progress: Progress | None = None) -> IngestSummary:
    """Store every article readable from ``sources`` through the engine ``store``, holding its
    writer lock for the whole run; see the module docstring."""
    with store.writing("storyline ingest " + " ".join(sources)[:200]):
        return _ingest_sources(store, sources, settings, report, progress)


def _ingest_sources(store: Engine, sources: Sequence[str], settings: Settings, report: ReadReport,
                    progress: Progress | None) -> IngestSummary:
    summary = IngestSummary()
    urls = [s for s in sources if is_url(s)]
    files = list(_expand([s for s in sources if not is_url(s)], report))
    plain = [p for p in files if not _is_warc(p) and _suffix(p) != ".opml"]
    if plain:
        summary.absorb(store.add_articles(read_paths(plain, report), progress=progress, refresh=False, save_state=False))
    for path in (p for p in files if _is_warc(p)):
        _ingest_warc(store, path, report, summary, progress)
    opml_feeds = _opml_feed_urls([p for p in files if _suffix(p) == ".opml"], report)
    if urls or opml_feeds:
        _ingest_urls(store, urls, opml_feeds, settings, report, summary, progress)
    store.consolidate()  # owed by an interrupted earlier run, even when nothing was new
    store.refresh_stories(meanwhile=store.checkpoint, progress=progress)  # the consolidation saved the state already
    if report.errors:
        store.record_errors((e.where, e.reason) for e in report.errors)
    return summary


def _ingest_warc(store: Engine, path: Path, report: ReadReport, summary: IngestSummary,
                 progress: Progress | None) -> None:
    from .ingest.warc import iter_warc

    key = f"warc:{path_identity(path)}"
    saved = json.loads(store.get_checkpoint(key) or "{}")
    if saved.get("done"):
        summary.warc_skipped.append(str(path))
        return
    report.files += 1
    chunk: list[Article] = []
    offset = int(saved.get("offset", 0))
    for article, resume_offset in iter_warc(path, start_offset=offset, report=report):
        report.items += 1
        chunk.append(article)
        if len(chunk) >= _CHUNK:
            summary.absorb(store.add_articles(chunk, progress=progress, refresh=False))
            store.set_checkpoint(key, json.dumps({"offset": resume_offset, "done": False}))
            chunk = []
        offset = resume_offset
    if chunk:
        summary.absorb(store.add_articles(chunk, progress=progress, refresh=False))
    store.set_checkpoint(key, json.dumps({"offset": offset, "done": True}))


def _opml_feed_urls(paths: Iterable[Path], report: ReadReport) -> list[tuple[str, str]]:
    from .ingest.opml import read_opml

    found = []
    for path in paths:
        report.files += 1
        try:
            found.extend((f.url, f.title) for f in read_opml(path))
        except InputError as exc:
            report.errors.append(exc)
    return found


def _ingest_urls(store: Engine, urls: Sequence[str], opml_feeds: Sequence[tuple[str, str]],
                 settings: Settings, report: ReadReport, summary: IngestSummary,
                 progress: Progress | None) -> None:
    from .ingest.fetch import Fetcher
    from .ingest.watch import read_url

    for url, title in opml_feeds:
        _subscribe(store, url, title)
    queue = [(u, "") for u in urls] + list(opml_feeds)
    with Fetcher(settings) as fetcher:
        while queue:
            url, title = queue.pop(0)
            try:
                read = read_url(url, fetcher, fetch_pages=settings.fetch_pages)
            except InputError as exc:
                report.errors.append(exc)
                _note_feed_failure(store, url, title, exc)
                continue
            report.errors.extend(read.errors)
            if read.kind == "opml":
                for feed in read.feeds:
                    _subscribe(store, feed.url, feed.title)
                    queue.append((feed.url, feed.title))
                continue
            report.items += len(read.articles)
            result = store.add_articles(read.articles, progress=progress, refresh=False)
            summary.absorb(result)
            if read.kind == "feed":
                _note_feed_success(store, url, title or read.title, read, result.new)
                summary.feeds_subscribed += 1


def _subscribe(store: Engine, url: str, title: str) -> None:
    if store.get_feed(url) is None:  # a feed already subscribed keeps its title and interval
        subscriptions.subscribe(store, url, title=title)


def _note_feed_success(store: Engine, url: str, title: str, read: UrlRead, new: int) -> None:
    fetch = read.fetch
    subscriptions.record_success(store, FeedState(url=url), title=title, etag=fetch.etag if fetch else "",
                                 last_modified=fetch.last_modified if fetch else "", new_articles=new, schedule=False)


def _note_feed_failure(store: Engine, url: str, title: str, exc: InputError) -> None:
    subscriptions.record_failure(store, url, str(exc), schedule=False)
