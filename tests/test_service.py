"""`storyline ingest` of URLs, OPML lists and WARC archives, and `storyline watch`, end to end
through the CLI against a real HTTP server on loopback."""
from __future__ import annotations

import json

from conftest import run_cli
from ingest_helpers import LoopbackServer, Route, data_path

FEED = "feeds/rss-parser/input/guardian.rss"


def opml(*urls: str) -> str:
    items = "".join(f'<outline type="rss" text="feed {i}" xmlUrl="{u}"/>' for i, u in enumerate(urls))
    return f'<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>{items}</body></opml>'


def test_loopback_feed_refused_by_default_then_read_with_the_flag(data_dir):
    data_path(FEED)
    with LoopbackServer() as server:
        url = server.url("/data/" + FEED)
        refused = run_cli("ingest", url, "--data-dir", str(data_dir))
        assert refused.returncode == 1
        assert "127.0.0.1" in refused.stderr and "--allow-private-network" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert server.hits("/data/" + FEED) == 0

        read = run_cli("ingest", url, "--allow-private-network", "--no-fetch-pages", "--data-dir", str(data_dir))
        assert read.returncode == 0, read.stderr
        articles = [json.loads(x) for x in run_cli("export", "articles", "--data-dir", str(data_dir)).stdout.splitlines()]
        assert len(articles) > 5 and all(a["origin"] == url for a in articles)
        feeds = json.loads(run_cli("feeds", "--json", "--data-dir", str(data_dir)).stdout)["feeds"]
        assert [f["url"] for f in feeds] == [url] and feeds[0]["last_success_at"] and feeds[0]["etag"]

        again = run_cli("ingest", url, "--allow-private-network", "--no-fetch-pages", "--data-dir", str(data_dir))
        assert again.returncode == 0 and "0 new" in again.stderr

        watched = run_cli("watch", "--once", "--allow-private-network", "--no-fetch-pages", "--data-dir", str(data_dir))
        assert watched.returncode == 0 and "not-modified" in watched.stderr


def test_opml_subscribes_every_feed_and_reports_the_broken_one(data_dir, tmp_path):
    data_path(FEED)
    with LoopbackServer() as server:
        server.routes["/broken.xml"] = Route(status=500, body=b"oops")
        good, broken = server.url("/data/" + FEED), server.url("/broken.xml")
        (tmp_path / "subs.opml").write_text(opml(good, broken), encoding="utf-8")
        proc = run_cli("ingest", str(tmp_path / "subs.opml"), "--allow-private-network", "--no-fetch-pages", "--data-dir", str(data_dir))
        assert proc.returncode == 3, proc.stderr
        assert "broken.xml" in proc.stderr and "500" in proc.stderr and "Traceback" not in proc.stderr
        feeds = {f["url"]: f for f in json.loads(run_cli("feeds", "--json", "--data-dir", str(data_dir)).stdout)["feeds"]}
        assert set(feeds) == {good, broken}
        assert feeds[good]["entries_seen"] > 0
        listing = run_cli("feeds", "--data-dir", str(data_dir)).stdout
        assert "FAILING" not in listing.split(good)[1].split("\n")[1]


def test_warc_archive_is_read_once_and_skipped_when_done(data_dir):
    warc = data_path("warc", "commoncrawl-whirlwind", "whirlwind.warc.gz")
    first = run_cli("ingest", str(warc), "--data-dir", str(data_dir))
    assert first.returncode in (0, 3), first.stderr
    stored = run_cli("export", "articles", "--data-dir", str(data_dir)).stdout.splitlines()
    assert stored and all("whirlwind.warc.gz#" in json.loads(x)["origin"] for x in stored)
    second = run_cli("ingest", str(warc), "--data-dir", str(data_dir))
    assert second.returncode == 0 and "already done, skipped" in second.stderr
    assert len(run_cli("export", "articles", "--data-dir", str(data_dir)).stdout.splitlines()) == len(stored)
