"""The feed registry: which feeds are subscribed, and how healthy each is — in one place.

``storyline feeds add|remove|list``, ``storyline ingest FEED_URL|OPML`` (:mod:`storyline.service`)
and the poller (:class:`storyline.ingest.watch.Watcher`, used by ``watch`` and ``run``) all
subscribe, record a read and report health through these functions, on any object with the store's
feed methods (``get_feed``, ``save_feed``, ``list_feeds``; ``delete_feed`` to unsubscribe).

Health rules: a successful read clears the failure count, remembers the validators (ETag,
Last-Modified) and schedules the next poll one interval later; a failed read counts one more
consecutive failure, keeps the error and waits :func:`backoff_seconds` (the interval doubled per
failure, at most a day, or longer when the server asked with Retry-After). A URL that never worked
is not subscribed by a failure. A one-shot read (``storyline ingest URL``, ``schedule=False``)
records the health but leaves the poll schedule alone: the watcher still polls the feed when due.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from ..models import FeedState

MAX_BACKOFF_S = 24 * 3600.0


class Feeds(Protocol):
    """The store's feed methods the registry uses."""

    def get_feed(self, url: str) -> FeedState | None: ...
    def save_feed(self, state: FeedState) -> None: ...
    def list_feeds(self) -> list[FeedState]: ...


def backoff_seconds(interval_s: float, failures: int, *, cap: float = MAX_BACKOFF_S) -> float:
    """Delay before the next poll after ``failures`` consecutive failures: the interval
    doubled per failure, at most ``cap``."""
    return min(interval_s * (2 ** max(0, failures)), max(cap, interval_s))


def _now(now: datetime | None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def check_address(url: str, *, allow_private: bool = False) -> str:
    """Check a feed address before subscribing it, as fetching will check it later.

    Returns:
        ``""``, or a warning that may pass (the host does not resolve right now).

    Raises:
        InputError: the address is refused (not http(s), no host, blocked by the network policy).
    """
    from .safety import check_subscription

    return check_subscription(url, allow_private=allow_private)


def subscribe(store: Feeds, url: str, *, title: str = "", interval_s: float | None = None) -> FeedState:
    """Subscribe ``url`` (or update the title or interval of a subscribed feed; its health is
    kept) and return its state."""
    state = store.get_feed(url) or FeedState(url=url)
    state = replace(state, title=title or state.title,
                    interval_s=interval_s if interval_s is not None else state.interval_s)
    store.save_feed(state)
    return state


def unsubscribe(store: Any, url: str) -> bool:
    """Forget the subscription of ``url`` (its articles stay); False when it was not subscribed."""
    return bool(store.delete_feed(url))


def record_success(store: Feeds, state: FeedState, *, title: str = "", etag: str = "", last_modified: str = "",
                   new_articles: int = 0, now: datetime | None = None, schedule: bool = True) -> FeedState:
    """A read of a subscribed feed worked: failures cleared, validators kept, next poll one
    interval later (unless not ``schedule``). ``state`` is the feed as read before (the stored one
    is preferred)."""
    now = _now(now)
    current = store.get_feed(state.url) or state
    updated = replace(current, title=current.title or title, last_success_at=now, consecutive_failures=0,
                      next_poll_at=now + timedelta(seconds=current.interval_s) if schedule else current.next_poll_at,
                      etag=etag or current.etag, last_modified=last_modified or current.last_modified,
                      entries_seen=current.entries_seen + new_articles)
    store.save_feed(updated)
    return updated


def record_failure(store: Feeds, url: str, error: str, *, retry_after: float | None = None,
                   max_backoff_s: float = MAX_BACKOFF_S, now: datetime | None = None,
                   state: FeedState | None = None, schedule: bool = True) -> FeedState | None:
    """A read of ``url`` failed: one more consecutive failure, the error kept, the next poll
    backed off (unless not ``schedule``). Returns None (and records nothing) when ``url`` is not
    subscribed."""
    now = _now(now)
    current = store.get_feed(url) or state
    if current is None:
        return None
    failures = current.consecutive_failures + 1
    delay = backoff_seconds(current.interval_s, failures, cap=max_backoff_s)
    if retry_after:
        delay = max(delay, min(float(retry_after), max_backoff_s))
    updated = replace(current, last_error=error, last_error_at=now, consecutive_failures=failures,
                      next_poll_at=now + timedelta(seconds=delay) if schedule else current.next_poll_at)
    store.save_feed(updated)
    return updated


def due(store: Feeds, now: datetime | None = None) -> list[FeedState]:
    """Feeds whose next poll has come (or that were never polled), the longest waiting first."""
    now = _now(now)
    waiting = [f for f in store.list_feeds() if f.next_poll_at is None or _now(f.next_poll_at) <= now]
    return sorted(waiting, key=lambda f: _now(f.next_poll_at) if f.next_poll_at
                  else datetime.min.replace(tzinfo=timezone.utc))


def health(state: FeedState) -> str:
    """One word or line on a feed's health: ``ok``, ``never read`` or ``FAILING xN: error``."""
    if state.consecutive_failures:
        return f"FAILING x{state.consecutive_failures}: {state.last_error}"
    return "ok" if state.last_success_at else "never read"


def to_dict(state: FeedState) -> dict[str, Any]:
    """A feed's state and health, JSON-ready (``storyline feeds list --json``)."""
    row = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(state).items()}
    return {**row, "health": health(state), "failing": state.consecutive_failures > 0}


__all__ = ["MAX_BACKOFF_S", "Feeds", "backoff_seconds", "check_address", "due", "health", "record_failure",
           "record_success", "subscribe", "to_dict", "unsubscribe"]
