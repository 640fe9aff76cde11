"""``storyline run``: poll the subscribed feeds and serve the site, in one supervised process.

Three threads: the main thread owns the signals and supervises; the web server (uvicorn) runs
in one thread with its own store connection, the :class:`Poller` in another with the only
writing connection. A poll that crashes (a full disk, a locked database, a bug) is logged with
its traceback and retried with a doubling delay; it never takes the site down.

The poller writes through the engine (:func:`~storyline.engine.open_engine`), holding the
store's writer lock for one feed's articles at a time, so ``ingest``, ``forget`` and
``rebuild`` run between two of them; when another process wrote in between (the store's
generation moved), the engine reloads its stream state before the next write.

SIGTERM or SIGINT stops cleanly: the web server stops taking requests, the poller finishes the
batch it is writing (every batch is one transaction: 256 articles, their duplicates and story
assignments) and stores nothing more, and the process exits 0. Whatever of a feed was not
stored yet is read again at the next start (its feed state was not advanced). A second signal
exits at once; SQLite rolls the open transaction back, so no half batch is ever visible.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence

from .config import Settings
from .errors import IngestError
from .ingest.fetch import Fetcher, FetchResult
from .ingest.watch import PollReport, Watcher
from .models import Article, FeedState
from .engine import Engine, open_engine

log = logging.getLogger("storyline.run")
BATCH = 256  # articles per store transaction (Engine.add_articles' batch size)
CRASH_BACKOFF_S = (5.0, 600.0)  # first and longest delay after a crashed poll
SHUTDOWN_GRACE_S = 45.0  # longest wait for the batch in progress at shutdown (systemd: TimeoutStopSec=60)


class ShuttingDown(Exception):
    """Raised inside a poll when a stop was asked for: nothing more is stored or recorded."""


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)


class LoggingFetcher(Fetcher):
    """The watcher's fetcher, logging every request (URL, status, bytes, duration) and refusing
    new requests once the service is stopping."""

    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        super().__init__(settings)
        self.stop = stop

    def fetch(self, url: str, **kwargs: Any) -> FetchResult:
        if self.stop.is_set():
            raise IngestError(url, "not fetched: storyline is stopping")
        start = time.monotonic()
        try:
            result = super().fetch(url, **kwargs)
        except IngestError as exc:
            log.info("fetch failed", extra={"url": url, "error": exc.reason, "duration_ms": _ms(start)})
            raise
        log.info("fetched", extra={"url": result.url, "status": result.status, "bytes": len(result.content),
                                   "duration_ms": _ms(start)})
        return result


class WatchedStore:
    """The watcher's view of the engine (:class:`~storyline.ingest.watch.FeedStore`).

    * Articles are stored in batches of :data:`BATCH`, one transaction each; between two batches
      a stop request ends the poll (:class:`ShuttingDown`), so a batch is whole or absent, and
      the end-of-input consolidation stays owed (the next start finishes it).
    * Items removed with ``storyline forget`` are left out when a feed still lists them.
    * After a ``forget`` by another process the engine's generation check reloads the
      deduplicator and clusterer from the store before the next write (see
      :meth:`~storyline.engine.Engine.writing`), so nothing refers to a removed article.
    """

    def __init__(self, engine: Engine, stop: threading.Event | None = None, *, command: str = "storyline run") -> None:
        self.engine = engine
        self.store = engine.store
        self.stop = stop or threading.Event()
        self.command = command
        self.get_feed = self.store.get_feed
        self.list_feeds = self.store.list_feeds
        self._last_removal = self._latest_removal()

    def _latest_removal(self) -> int:
        latest = self.store.removal_log(limit=1)
        return int(latest[0]["id"]) if latest else 0

    def save_feed(self, state: FeedState) -> None:
        if self.stop.is_set():
            raise ShuttingDown(f"{state.url}: feed state not advanced; it is read again at the next start")
        self.store.save_feed(state)

    def _note_removals(self) -> None:
        """Log when ``storyline forget`` removed articles since the last look (the engine's
        generation check has already dropped the stream state that referred to them)."""
        latest = self._latest_removal()
        if latest != self._last_removal:
            log.info("articles were forgotten by another process; the engine reloads its state from the store",
                     extra={"removals": latest})
            self._last_removal = latest

    def _batches(self, articles: Sequence[Article]) -> Iterator[Article]:
        for start in range(0, len(articles), BATCH):
            if self.stop.is_set():
                raise ShuttingDown(f"stopped after {start} of {len(articles)} item(s) of this feed")
            yield from articles[start : start + BATCH]

    def add_articles(self, articles: Iterable[Article]) -> int:
        batch = list(articles)
        with self.engine.writing(self.command):
            self._note_removals()
            removed = self.store.removed_ids([a.id for a in batch])
            if removed:
                log.info("left out items removed by `storyline forget`", extra={"items": len(removed)})
                batch = [a for a in batch if a.id not in removed]
            new = self.engine.add_articles(self._batches(batch), batch_size=BATCH, refresh=False).new
            if not self.stop.is_set():
                self.engine.refresh_stories()  # a stop leaves them dirty: refreshed at the next start
        return new

    def catch_up(self) -> int:
        """Finish what a stopped run left: the owed consolidation and the dirty stories."""
        with self.engine.writing(self.command):
            self.engine.consolidate()
            return self.engine.refresh_stories()


@dataclass
class PollerStatus:
    """What ``/healthz`` shows of the poller."""

    state: str = "starting"
    polls: int = 0
    last_poll_at: datetime | None = None
    last_completed_poll_at: datetime | None = None
    last_new_articles: int = 0
    consecutive_crashes: int = 0
    last_crash: str = ""
    last_crash_at: datetime | None = None
    retry_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(self).items() if k != "lock"}

    def update(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def log_poll(report: PollReport, duration_ms: int) -> None:
    """One line per feed polled (status, items, new, error) and one for the whole poll."""
    for poll in report.feeds:
        facts = {"feed": poll.url, "status": poll.status, "entries": poll.entries, "new": poll.new_articles}
        if poll.error is not None:
            log.warning("feed failed", extra={**facts, "error": poll.error.reason})
        else:
            log.info("feed polled", extra=facts)
        for warning in poll.warnings:
            log.warning("feed warning", extra={"feed": poll.url, "warning": warning})
        for err in poll.page_errors:
            log.warning("item page not read", extra={"feed": poll.url, "item": err.where, "error": err.reason})
    if not report.polled:
        return  # nothing was due: no line every time the poller wakes up
    log.info("poll done", extra={"feeds": report.polled, "new": report.new_articles, "failed": len(report.errors),
                                 "not_modified": report.not_modified, "duration_ms": duration_ms})


class Poller:
    """Polls due feeds until ``stop`` is set; a crashed poll is logged and retried later.

    Args:
        engine: the engine it writes through (its store has its own connection).
        settings: fetch settings.
        stop: set to stop after the batch in progress.
        max_sleep_s: longest wait between two looks at the feed list (new subscriptions).
        crash_backoff_s: first and longest delay after a crashed poll (doubling in between).
    """

    def __init__(self, engine: Engine, settings: Settings, stop: threading.Event, *,
                 max_sleep_s: float = 60.0, crash_backoff_s: tuple[float, float] = CRASH_BACKOFF_S) -> None:
        self.stop = stop
        self.max_sleep_s = max_sleep_s
        self.crash_backoff_s = crash_backoff_s
        self.feeds = WatchedStore(engine, stop, command=engine.command or "storyline run")
        self.watcher = Watcher(self.feeds, settings, fetcher=LoggingFetcher(settings, stop),
                               fetch_pages=settings.fetch_pages)
        self.status = PollerStatus()

    def close(self) -> None:
        self.watcher.fetcher.close()

    def run(self) -> None:
        """The loop; returns when ``stop`` is set. It starts by refreshing the stories a stopped
        run left dirty (their summaries and sizes)."""
        try:
            refreshed = self.feeds.catch_up()
            if refreshed:
                log.info("refreshed stories left unfinished by the last run", extra={"stories": refreshed})
        except Exception as exc:
            self._crashed(exc)
        while not self.stop.is_set():
            self.status.update(state="polling", last_poll_at=_now())
            start = time.monotonic()
            try:
                report = self.watcher.poll_once()
            except ShuttingDown as exc:
                log.warning("stopping in the middle of a poll; every stored batch is whole", extra={"why": str(exc)})
                break
            except Exception as exc:  # the supervisor's job: log, wait, retry — never die
                self._crashed(exc)
                continue
            log_poll(report, _ms(start))
            self.status.update(state="waiting", polls=self.status.polls + 1, last_completed_poll_at=_now(),
                               last_new_articles=report.new_articles, consecutive_crashes=0, retry_at=None)
            self.stop.wait(self._until_next_due())
        self.status.update(state="stopped")

    def _crashed(self, exc: BaseException) -> None:
        crashes = self.status.consecutive_crashes + 1
        first, longest = self.crash_backoff_s
        delay = min(longest, first * 2 ** (crashes - 1))
        log.error("poll crashed; retrying later", exc_info=exc,
                  extra={"error": f"{type(exc).__name__}: {exc}", "crashes": crashes, "retry_in_s": delay})
        self.feeds.engine.forget()  # its in-memory state may be ahead of the store: reload before the next write
        self.status.update(state="backing off", consecutive_crashes=crashes, last_crash=f"{type(exc).__name__}: {exc}",
                           last_crash_at=_now(), retry_at=datetime.fromtimestamp(time.time() + delay, timezone.utc))
        self.stop.wait(delay)

    def _until_next_due(self) -> float:
        pending = [f.next_poll_at for f in self.feeds.list_feeds() if f.next_poll_at]
        wait = self.max_sleep_s
        if pending:
            soonest = min(p if p.tzinfo else p.replace(tzinfo=timezone.utc) for p in pending)
            wait = min(wait, max(0.0, (soonest - _now()).total_seconds()))
        return max(wait, 0.05)


class Service:
    """The web server and the poller in one process (see the module docstring).

    Args:
        settings: everything (data directory, base URL, trusted proxies, fetch policy).
        host, port: where the web server listens.
        max_sleep_s: see :class:`Poller`.
    """

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 8000,
                 max_sleep_s: float = 60.0, shutdown_grace_s: float = SHUTDOWN_GRACE_S) -> None:
        import uvicorn

        from .web import create_app

        self.settings = settings
        self.stop = threading.Event()
        self.shutdown_grace_s = shutdown_grace_s
        self.app = create_app(settings)
        self.store = open_engine(settings, command="storyline run")
        self.store.check_state()  # a store made by another engine is refused now, naming `storyline rebuild`
        self.poller = Poller(self.store, settings, self.stop, max_sleep_s=max_sleep_s)
        self.app.state.poller_status = self.poller.status.to_dict
        config = uvicorn.Config(self.app, host=host, port=port, proxy_headers=False, server_header=False,
                                log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}"
        self._web = threading.Thread(target=self.server.run, name="storyline-web", daemon=True)
        self._poll = threading.Thread(target=self.poller.run, name="storyline-poll", daemon=True)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.stop.is_set():
            log.error("second stop signal: exiting now; the batch in progress is rolled back")
            os._exit(1)
        log.warning("stopping: finishing the batch in progress", extra={"signal": signal.Signals(signum).name})
        self.stop.set()

    def _start_web(self) -> bool:
        self._web.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._web.is_alive() or time.monotonic() > deadline:
                log.error("the web server could not start", extra={"url": self.url})
                return False
            time.sleep(0.02)
        return True

    def run(self, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> int:
        """Serve and poll until a signal in ``signals`` arrives; returns the exit status."""
        for sig in signals:
            signal.signal(sig, self._on_signal)
        if not self._start_web():
            return 1
        feeds = self.store.list_feeds()
        log.info("storyline is running", extra={"url": self.url, "feeds": len(feeds), "data_dir": str(self.settings.data_dir)})
        if not feeds:
            log.warning("no feeds subscribed yet; `storyline feeds add URL` or `storyline ingest OPML` (picked up within a minute)")
        self._poll.start()
        status = 0
        while not self.stop.wait(0.5):
            if not self._web.is_alive():
                log.error("the web server stopped unexpectedly; exiting so the service manager restarts storyline")
                status = 1
                self.stop.set()
        return self._shut_down(status)

    def _shut_down(self, status: int) -> int:
        self.server.should_exit = True
        self._poll.join(timeout=self.shutdown_grace_s)
        if self._poll.is_alive():
            log.error("the poll did not finish in time; exiting, the batch in progress is rolled back",
                      extra={"grace_s": self.shutdown_grace_s})
            return 1
        self._web.join(timeout=10)
        self.poller.close()
        self.store.close()
        log.info("storyline stopped", extra={"polls": self.poller.status.polls})
        return status


__all__ = ["LoggingFetcher", "Poller", "PollerStatus", "Service", "ShuttingDown", "WatchedStore", "log_poll"]
