"""The one feed registry (storyline/ingest/subscriptions.py) on a real store: subscribing keeps
health, reads record it with one set of rules, and `storyline feeds list` reports it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import run_cli
from storyline.config import Settings
from storyline.ingest import subscriptions
from storyline.store import open_store

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
URL = "https://news.example/feed.xml"


def test_health_rules_and_schedule(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    try:
        state = subscriptions.subscribe(store, URL, title="Example News", interval_s=600)
        assert subscriptions.health(state) == "never read" and subscriptions.due(store, NOW) == [state]

        failed = subscriptions.record_failure(store, URL, "HTTP 503", now=NOW, retry_after=7200)
        assert failed is not None and failed.consecutive_failures == 1
        assert failed.next_poll_at == NOW + timedelta(seconds=7200)  # the server's Retry-After beats 2 x 600 s
        again = subscriptions.record_failure(store, URL, "HTTP 500", now=NOW)
        assert again is not None and again.next_poll_at == NOW + timedelta(seconds=2400)  # 600 s doubled twice
        assert subscriptions.health(again) == "FAILING x2: HTTP 500" and subscriptions.due(store, NOW) == []

        # re-subscribing (an OPML import, `feeds add` again) changes the interval, keeps the health
        kept = subscriptions.subscribe(store, URL, interval_s=300)
        assert kept.consecutive_failures == 2 and kept.last_error == "HTTP 500" and kept.title == "Example News"

        # a one-shot read (`storyline ingest URL`) records health but leaves the schedule alone
        ok = subscriptions.record_success(store, kept, etag='"v2"', new_articles=4, now=NOW, schedule=False)
        assert ok.consecutive_failures == 0 and ok.etag == '"v2"' and ok.entries_seen == 4
        assert ok.next_poll_at == again.next_poll_at and subscriptions.health(ok) == "ok"
        polled = subscriptions.record_success(store, ok, now=NOW)
        assert polled.next_poll_at == NOW + timedelta(seconds=300) and polled.etag == '"v2"'

        # a URL that never worked is not subscribed by its failure
        assert subscriptions.record_failure(store, "https://other.example/rss", "timeout", now=NOW) is None
        assert [f.url for f in store.list_feeds()] == [URL]
    finally:
        store.close()


def test_cli_lists_the_registrys_health(tmp_path: Path) -> None:
    data, url = str(tmp_path / "data"), "http://127.0.0.1:9/feed.xml"  # loopback: no lookup leaves the machine
    added = run_cli("feeds", "add", url, "--interval", "15", "--allow-private-network", "--data-dir", data)
    assert added.returncode == 0, added.stderr
    store = open_store(Settings(data_dir=tmp_path / "data"))
    try:
        assert store.get_feed(url).interval_s == 900  # type: ignore[union-attr]
        subscriptions.record_failure(store, url, "HTTP 404 Not Found", now=NOW)
    finally:
        store.close()
    listed = json.loads(run_cli("feeds", "list", "--json", "--data-dir", data).stdout)["feeds"]
    assert [(f["url"], f["health"], f["failing"], f["consecutive_failures"]) for f in listed] == \
        [(url, "FAILING x1: HTTP 404 Not Found", True, 1)]
    text = run_cli("feeds", "list", "--data-dir", data).stdout
    assert "FAILING x1: HTTP 404 Not Found" in text
    removed = run_cli("feeds", "remove", url, "--data-dir", data)
    assert removed.returncode == 0 and "unsubscribed 1 feed" in removed.stderr
    assert json.loads(run_cli("feeds", "list", "--json", "--data-dir", data).stdout)["feeds"] == []
