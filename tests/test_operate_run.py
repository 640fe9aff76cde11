"""`storyline run` as a real process against feeds on a loopback HTTP server: it polls, serves,
answers /healthz, survives a crashed poll, stops cleanly on SIGTERM in the middle of a poll, and
no request header can change the links in its feeds."""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from conftest import run_cli
from ingest_helpers import LoopbackServer, Route, loopback_settings
from operate_helpers import count, rss, storyline_run, subscribe, texts
from storyline.config import Settings
from storyline.engine import Engine
from storyline.models import FeedState
from storyline.run import Poller
from storyline.store import open_store
from storyline.web import create_app
from storyline.web.server import ServerThread

pytestmark = pytest.mark.slow


def _export(data_dir) -> list[dict]:  # type: ignore[no-untyped-def]
    out = run_cli("export", "articles", "--data-dir", str(data_dir))
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_run_polls_serves_reports_health_and_follows_forget(tmp_path):
    data_dir = tmp_path / "data"
    items = [(f"g{i}", title, text) for i, (title, text) in enumerate(texts(12))]
    with LoopbackServer() as server:
        server.routes["/news"] = Route(body=rss(items), headers={"Content-Type": "application/rss+xml"})
        server.routes["/broken"] = Route(status=500, body=b"down for maintenance")
        news, broken = server.url("/news"), server.url("/broken")
        store = open_store(Settings(data_dir=data_dir))
        store.save_feed(FeedState(url=news, interval_s=1.0))
        store.save_feed(FeedState(url=broken))
        store.close()
        with storyline_run(data_dir) as svc:
            def polled() -> bool:
                body = svc.health().json()
                # the articles commit before the feed's state is saved: wait for the whole poll
                return body["store"]["articles"] == 12 and body["feeds"]["failing"] == 1 and body["poller"]["polls"] >= 1
            svc.wait_for(polled, 120, "the first poll")
            health = svc.health()
            body = health.json()
            assert health.status_code == 200 and body["status"] == "ok"
            assert health.headers["cache-control"] == "no-store"
            assert body["store"]["reachable"] and body["store"]["articles"] == 12 and 1 <= body["store"]["stories"] <= 12
            assert body["feeds"]["subscribed"] == 2 and body["feeds"]["last_successful_poll"]
            assert [e["url"] for e in body["feeds"]["errors"]] == [broken]
            assert "500" in body["feeds"]["errors"][0]["last_error"]
            assert body["poller"]["polls"] >= 1 and body["poller"]["consecutive_crashes"] == 0

            page = httpx.get(svc.url + "/", timeout=10)
            assert page.status_code == 200 and any(title in page.text for _, title, _ in items)

            # forget one item while the service runs; the feed still lists it and adds a copy of it
            gone = next(a for a in _export(data_dir) if a["title"] == items[0][1])
            forgot = run_cli("forget", "--id", gone["id"], "--reason", "asked by its author", "--data-dir", str(data_dir))
            assert forgot.returncode == 0, forgot.stderr
            copy = ("copy0", items[0][1], items[0][2])
            server.routes["/news"] = Route(body=rss(items + [copy]), headers={"Content-Type": "application/rss+xml"})
            svc.wait_for(lambda: any(a["url"].endswith("/copy0") for a in _export(data_dir)), 60, "the copy")
            time.sleep(1.5)  # another poll or two of the same feed
            stored = _export(data_dir)
            assert gone["id"] not in {a["id"] for a in stored}  # a forgotten item stays forgotten
            copied = next(a for a in stored if a["url"].endswith("/copy0"))
            assert copied["reprint_of"] is None  # not a copy of an article that is gone
            assert svc.health().json()["poller"]["consecutive_crashes"] == 0
            assert svc.stop() == 0
        log = svc.log()
    fetched = [r for r in log if r["message"] == "fetched"]
    assert fetched and {"url", "status", "bytes", "duration_ms"} <= set(fetched[0])
    failed = [r for r in log if r["message"] == "feed failed"]
    assert failed and failed[0]["feed"] == broken and "500" in failed[0]["error"] and failed[0]["level"] == "warning"
    assert any(r["message"] == "feed polled" and r["feed"] == news and r["status"] == "ok" for r in log)
    assert any(r["message"] == "left out items removed by `storyline forget`" for r in log)
    assert any(r["message"].startswith("articles were forgotten by another process") for r in log)
    assert log[-1]["message"] == "storyline stopped"
    assert not any(r["level"] == "error" for r in log), [r for r in log if r["level"] == "error"]


def test_sigterm_in_the_middle_of_a_poll_leaves_whole_batches(tmp_path):
    data_dir = tmp_path / "data"
    db = data_dir / "storyline.db"
    total = 1000
    items = [(f"g{i}", title, text) for i, (title, text) in enumerate(texts(total))]
    with LoopbackServer() as server:
        server.routes["/big"] = Route(body=rss(items), headers={"Content-Type": "application/rss+xml"})
        subscribe(data_dir, server.url("/big"))
        with storyline_run(data_dir) as svc:
            svc.wait_for(lambda: count(db, "SELECT count(*) FROM articles") >= 256, 120, "the first batch")
            assert svc.stop() == 0
            log = svc.log()
        stored = count(db, "SELECT count(*) FROM articles")
        assert 256 <= stored < total, "the stop came after the poll; make the feed bigger"
        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        batches = dict(check.execute("SELECT added_batch, count(*) FROM articles GROUP BY added_batch").fetchall())
        feed = check.execute("SELECT etag, last_success_at, entries_seen FROM feeds").fetchone()
        check.close()
        assert set(batches.values()) == {256} and sum(batches.values()) == stored  # whole batches only
        assert feed[1] is None and feed[2] == 0  # the feed is not marked read: the rest comes next time
        assert any(r["message"].startswith("stopping in the middle of a poll") for r in log)

        with storyline_run(data_dir) as svc:  # the next start stores the rest, nothing twice
            svc.wait_for(lambda: svc.health().json()["poller"]["polls"] >= 1, 180, "the second poll")
            body = svc.health().json()
            assert svc.stop() == 0
        assert body["store"]["articles"] == total
        assert count(db, "SELECT count(DISTINCT id) FROM articles") == total
        assert count(db, "SELECT count(*) FROM stories WHERE dirty = 1") == 0


def _links(atom: bytes, feed_json: bytes) -> list[str]:
    root = ET.fromstring(atom)
    ns = "{http://www.w3.org/2005/Atom}"
    links = [el.get("href", "") for el in root.iter(f"{ns}link")] + [el.text or "" for el in root.iter(f"{ns}id")]
    doc = json.loads(feed_json)
    links += [doc["home_page_url"], doc["feed_url"]]
    for item in doc["items"]:
        links += [item["id"], item["url"], item["_storyline"]["api_url"]]
    return links


FORGED = [
    {"Host": "evil.example"},
    {"Host": "evil.example:8443", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
     "X-Forwarded-For": "203.0.113.7", "Forwarded": "host=evil.example;proto=https"},
]


def _fetch_feeds(url: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    atom = httpx.get(url + "/feed.atom", headers=headers, timeout=10)
    feed = httpx.get(url + "/feed.json", headers=headers, timeout=10)
    assert atom.status_code == 200 and feed.status_code == 200
    return atom.content, feed.content


def test_forged_host_cannot_change_feed_links(tmp_path):
    data_dir = tmp_path / "data"
    items = [(f"g{i}", title, text) for i, (title, text) in enumerate(texts(5))]
    with LoopbackServer() as server:
        server.routes["/news"] = Route(body=rss(items))
        subscribe(data_dir, server.url("/news"))
        with storyline_run(data_dir) as svc:  # no base_url: the address it listens on
            def polled() -> bool:  # the whole poll: its articles commit before its stories are summarized
                body = svc.health().json()
                return body["store"]["articles"] == 5 and body["poller"]["polls"] >= 1
            svc.wait_for(polled, 120, "the poll")
            forged = [_fetch_feeds(svc.url, h) for h in FORGED]  # first, to try to poison the cache
            plain = _fetch_feeds(svc.url, {})
            stories = len(httpx.get(svc.url + "/api/stories", timeout=10).json()["stories"])
            assert stories >= 1
            for atom, feed in forged + [plain]:
                links = _links(atom, feed)
                assert len(links) >= 4 + 3 * stories  # feed, home and per story: page, id, API
                assert all(link.startswith(svc.url + "/") for link in links), links
                assert b"evil" not in atom + feed
            assert forged[0] == plain
            svc.stop()
        public = "https://news.example.org"
        with storyline_run(data_dir, "--base-url", public, "--trusted-proxies", "10.0.0.0/8") as svc:
            for atom, feed in [_fetch_feeds(svc.url, h) for h in FORGED] + [_fetch_feeds(svc.url, {})]:
                links = _links(atom, feed)
                assert all(link.startswith(public + "/") for link in links), links
                assert b"evil" not in atom + feed and b"127.0.0.1" not in atom + feed
            svc.stop()


def _echo_scope(settings: Settings):  # type: ignore[no-untyped-def]
    """A real ASGI app behind ProxyAware that answers with what it was told."""
    from storyline.web.proxy import ProxyAware

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        headers = dict(scope["headers"])
        body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"],
                           "host": headers[b"host"].decode()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return ProxyAware(app, settings)


def test_forwarded_headers_are_believed_only_from_trusted_proxies():
    forwarded = {"X-Forwarded-For": "198.51.100.4, 203.0.113.9", "X-Forwarded-Proto": "https", "Host": "evil.example"}
    with ServerThread(_echo_scope(Settings(trusted_proxies="10.0.0.0/8"))) as url:
        seen = httpx.get(url, headers=forwarded, timeout=10).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http", "host": url.removeprefix("http://")}
    with ServerThread(_echo_scope(Settings(trusted_proxies="127.0.0.1, ::1", base_url="https://news.example.org"))) as url:
        seen = httpx.get(url, headers=forwarded, timeout=10).json()
    assert seen == {"client": "203.0.113.9", "scheme": "https", "host": "news.example.org"}


def test_bad_proxy_settings_are_named(tmp_path):
    from storyline.errors import ConfigError

    for bad in ({"base_url": "news.example.org"}, {"base_url": "https://example.org/news"},
                {"trusted_proxies": "10.0.0.0/8, proxy.local"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            create_app(Settings(data_dir=tmp_path, **bad))


def test_healthz_is_503_when_the_store_does_not_answer(tmp_path):
    store = open_store(Settings(data_dir=tmp_path))
    app = create_app(Settings(data_dir=tmp_path), store=store)
    with ServerThread(app) as url:
        assert httpx.get(url + "/healthz", timeout=10).status_code == 200
        store.close()  # the database connection is gone: every query fails
        answer = httpx.get(url + "/healthz", timeout=10)
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable" and body["store"]["reachable"] is False and body["store"]["error"]


def test_a_crashed_poll_is_logged_and_retried(tmp_path, caplog):
    items = [(f"g{i}", title, text) for i, (title, text) in enumerate(texts(4))]
    with LoopbackServer() as server:
        server.routes["/news"] = Route(body=rss(items))
        settings = loopback_settings(tmp_path)
        store = open_store(settings)
        store.save_feed(FeedState(url=server.url("/news")))
        store.db.execute("PRAGMA query_only = ON")  # every write fails, as on a read-only disk
        stop = threading.Event()
        poller = Poller(Engine(store, settings, command="test"), settings, stop, max_sleep_s=0.1, crash_backoff_s=(0.2, 0.4))
        thread = threading.Thread(target=poller.run)
        with caplog.at_level(logging.ERROR, logger="storyline.run"):
            thread.start()
            deadline = time.monotonic() + 60
            while poller.status.consecutive_crashes < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            crashed = poller.status.to_dict()
            store.db.execute("PRAGMA query_only = OFF")
            while poller.status.polls < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            thread.join(timeout=30)
        poller.close()
    assert crashed["consecutive_crashes"] >= 2 and "readonly" in crashed["last_crash"]
    assert crashed["state"] == "backing off" and crashed["retry_at"]
    assert store.counts()["articles"] == 4 and poller.status.consecutive_crashes == 0
    assert not thread.is_alive() and poller.status.state == "stopped"
    records = [r for r in caplog.records if r.getMessage() == "poll crashed; retrying later"]
    assert len(records) >= 2 and records[0].exc_info and records[0].retry_in_s == 0.2  # type: ignore[attr-defined]
