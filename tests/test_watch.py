"""The watcher: due feeds, conditional GET, backoff and feed health, teasers, the run loop —
against a real HTTP server on loopback and an in-memory store double."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from ingest_helpers import LoopbackServer, MemoryStore, Route, loopback_settings
from storyline.config import Settings
from storyline.ingest.fetch import Fetcher
from storyline.ingest.watch import FeedStore, Watcher, backoff_seconds, read_url, sniff_kind
from storyline.models import FeedState

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
LONG = " ".join(["This paragraph of the report is long enough to count as the full article text."] * 8)


def rss(items: list[tuple[str, str, str]], title: str = "Loopback News") -> bytes:
    body = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>{link}</link><description>{LONG}</description></item>"
                   for g, t, link in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def store():
    return MemoryStore()


def test_memory_store_is_a_feed_store(store):
    assert isinstance(store, FeedStore)
    with pytest.raises(TypeError, match="FeedStore"):
        Watcher(object(), Settings())  # type: ignore[arg-type]


def test_poll_conditional_get_and_new_items(server, store):
    items = [(f"g{i}", f"Story {i}", f"http://example.org/{i}") for i in range(3)]
    server.routes["/feed"] = Route(body=rss(items), etag='"v1"', headers={"Content-Type": "application/rss+xml"})
    watcher = Watcher(store, loopback_settings())
    url = server.url("/feed")
    watcher.subscribe(url, interval_s=600)

    report = watcher.poll_once(T0)
    assert report.polled == 1 and report.new_articles == 3 and report.ok
    state = store.get_feed(url)
    assert state.etag == '"v1"' and state.title == "Loopback News" and state.last_success_at == T0
    assert state.next_poll_at == T0 + timedelta(seconds=600) and state.entries_seen == 3
    assert all(a.origin == url and a.source == "Loopback News" and a.fetched_at for a in store.articles.values())

    assert watcher.poll_once(T0 + timedelta(seconds=60)).polled == 0  # not due yet

    report = watcher.poll_once(T0 + timedelta(seconds=600))
    assert report.not_modified == 1 and report.new_articles == 0
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'

    server.routes["/feed"] = Route(body=rss(items + [("g9", "Story 9", "http://example.org/9")]), etag='"v2"')
    report = watcher.poll_once(T0 + timedelta(seconds=1200))
    assert report.new_articles == 1 and store.get_feed(url).etag == '"v2"'
    assert len(store.articles) == 4
    watcher.close()


def test_backoff_and_recovery(server, store):
    server.routes["/flaky"] = Route(status=500, body=b"boom")
    watcher = Watcher(store, loopback_settings())
    url = server.url("/flaky")
    watcher.subscribe(url, interval_s=100)

    report = watcher.poll_once(T0)
    assert not report.ok and "HTTP 500" in str(report.errors[0])
    state = store.get_feed(url)
    assert state.consecutive_failures == 1 and state.last_error_at == T0 and "HTTP 500" in state.last_error
    assert state.next_poll_at == T0 + timedelta(seconds=200)

    watcher.poll_once(T0 + timedelta(seconds=200))
    state = store.get_feed(url)
    assert state.consecutive_failures == 2 and state.next_poll_at == T0 + timedelta(seconds=600)

    server.routes["/flaky"] = Route(body=rss([("a", "Back", "http://example.org/a")]))
    report = watcher.poll_once(T0 + timedelta(seconds=600))
    state = store.get_feed(url)
    assert report.ok and state.consecutive_failures == 0 and state.last_success_at == T0 + timedelta(seconds=600)
    assert "HTTP 500" in state.last_error  # the last error stays visible for `storyline feeds`
    watcher.close()


def test_retry_after_is_honoured(server, store):
    server.routes["/busy"] = Route(status=503, headers={"Retry-After": "7200"})
    watcher = Watcher(store, loopback_settings())
    watcher.subscribe(server.url("/busy"), interval_s=60)
    watcher.poll_once(T0)
    assert store.get_feed(server.url("/busy")).next_poll_at == T0 + timedelta(seconds=7200)
    watcher.close()


def test_backoff_is_capped():
    assert backoff_seconds(1800, 1) == 3600
    assert backoff_seconds(1800, 20) == 24 * 3600


def test_broken_and_refused_feeds_are_recorded_not_raised(server, store):
    server.routes["/html"] = Route(body=b"<html><body>not a feed</body></html>", headers={"Content-Type": "text/html"})
    server.routes["/good"] = Route(body=rss([("a", "Fine", "http://example.org/a")]))
    watcher = Watcher(store, loopback_settings())
    for path in ("/html", "/good", "/missing"):
        watcher.subscribe(server.url(path))
    report = watcher.poll_once(T0)
    status = {p.url.rsplit("/", 1)[1]: p.status for p in report.feeds}
    assert status == {"html": "error", "good": "ok", "missing": "error"}
    assert report.new_articles == 1 and len(report.errors) == 2
    watcher.close()

    refused = MemoryStore()
    strict = Watcher(refused, Settings(per_host_delay=0))
    strict.subscribe(server.url("/good"))
    report = strict.poll_once(T0)
    state = refused.get_feed(server.url("/good"))
    assert "--allow-private-network" in state.last_error and state.consecutive_failures == 1
    assert server.hits("/good") == 1  # only the allowed watcher reached the server
    strict.close()


def test_teasers_get_their_page(server, store):
    page = f"<html><head><title>Full story</title></head><body><article><h1>Full story</h1><p>{LONG}</p></article></body></html>"
    server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /private/\n")
    server.routes["/story"] = Route(body=page.encode(), headers={"Content-Type": "text/html"})
    server.routes["/private/story"] = Route(body=page.encode(), headers={"Content-Type": "text/html"})
    feed = (f'<rss version="2.0"><channel><title>Teasers</title>'
            f'<item><guid>1</guid><title>Full story</title><link>{server.url("/story")}</link><description>Short teaser.</description></item>'
            f'<item><guid>2</guid><title>Hidden</title><link>{server.url("/private/story")}</link><description>Teaser.</description></item>'
            f'</channel></rss>').encode()
    server.routes["/teasers"] = Route(body=feed)
    watcher = Watcher(store, loopback_settings())
    watcher.subscribe(server.url("/teasers"))
    report = watcher.poll_once(T0)
    texts = {a.title: a.text for a in store.articles.values()}
    assert "long enough to count" in texts["Full story"]
    assert texts["Hidden"] == "Teaser."
    assert report.ok and len(report.page_errors) == 1 and "robots.txt" in str(report.page_errors[0])
    assert server.hits("/private/story") == 0
    watcher.close()


def test_feeds_polled_concurrently(server, store):
    for i in range(4):
        server.routes[f"/slow{i}"] = Route(body=rss([(f"s{i}", f"Slow {i}", f"http://example.org/s{i}")]), delay=0.4)
    watcher = Watcher(store, loopback_settings(max_concurrency=4))
    for i in range(4):
        watcher.subscribe(server.url(f"/slow{i}"))
    start = time.monotonic()
    report = watcher.poll_once(T0)
    assert report.new_articles == 4 and time.monotonic() - start < 1.4
    watcher.close()


def test_run_until_stopped(server, store):
    server.routes["/feed"] = Route(body=rss([("a", "A", "http://example.org/a")]))
    watcher = Watcher(store, loopback_settings())
    watcher.subscribe(server.url("/feed"), interval_s=3600)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), kwargs={"max_sleep_s": 0.1})
    thread.start()
    deadline = time.monotonic() + 5
    while not store.articles and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive() and len(store.articles) == 1
    assert server.hits("/feed") == 1  # not due again within the interval
    watcher.close()


def test_read_url_kinds(server):
    opml = (b'<opml version="2.0"><body><outline text="x" type="rss" xmlUrl="https://example.org/feed"/></body></opml>')
    server.routes["/list.opml"] = Route(body=opml, headers={"Content-Type": "text/x-opml"})
    page = f"<html><head><title>Page</title></head><body><article><p>{LONG}</p></article></body></html>".encode()
    server.routes["/page"] = Route(body=page, headers={"Content-Type": "text/html"})
    server.routes["/feed"] = Route(body=rss([("a", "A", "http://example.org/a")]))
    with Fetcher(loopback_settings()) as fetcher:
        assert [f.url for f in read_url(server.url("/list.opml"), fetcher).feeds] == ["https://example.org/feed"]
        read = read_url(server.url("/page"), fetcher)
        assert read.kind == "page" and "long enough" in read.articles[0].text
        assert read_url(server.url("/feed"), fetcher).kind == "feed"
    assert sniff_kind(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}') == "feed"


def test_same_sources_twice_store_nothing_new(server, store):
    server.routes["/feed"] = Route(body=rss([("a", "A", "http://example.org/a"), ("b", "B", "http://example.org/b")]))
    with Fetcher(loopback_settings()) as fetcher:
        first = read_url(server.url("/feed"), fetcher).articles
        second = read_url(server.url("/feed"), fetcher).articles
    assert store.add_articles(first) == 2 and store.add_articles(second) == 0
    state = FeedState(url="x")
    assert state.consecutive_failures == 0
