"""Article pages: extraction quality on 149 real news pages (a quality gate), local files,
teaser completion over a real loopback server."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest_helpers import (
    DATA,
    LoopbackServer,
    Route,
    loopback_settings,
    needs_data,
    news_pages,
    score_extraction,
    storyline_extract,
    trafilatura_extract,
)
from storyline.errors import ExtractionError
from storyline.ingest import ReadReport, read_paths
from storyline.ingest.feeds import parse_feed
from storyline.ingest.fetch import Fetcher
from storyline.ingest.pages import (
    complete_from_page,
    complete_teaser,
    extract_article,
    is_teaser,
    strip_site_name,
)
from storyline.models import Article

BASELINE = json.loads((Path(__file__).parent / "baselines" / "extraction.json").read_text(encoding="utf-8"))
PAGES = DATA / "html" / "trafilatura-news"

BODY = " ".join(f"Sentence number {i} of the council report says the harbour bridge reopens in May." for i in range(12))
PAGE = f"""<!DOCTYPE html><html lang="en"><head><title>Harbour bridge to reopen - Coastal Times</title>
<link rel="canonical" href="https://coastal.example/news/bridge-reopens">
<meta property="og:site_name" content="Coastal Times"><meta name="author" content="Ana Ruiz">
<meta property="article:published_time" content="2024-03-02T08:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>
<article><h1>Harbour bridge to reopen</h1><p>{BODY}</p><p>Work began last year.</p></article>
<footer>Cookie settings. Subscribe to our newsletter.</footer></body></html>""".encode()


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, float]]:
    if not (PAGES / "expectations.jsonl").exists():
        pytest.skip(f"shared test data not found at {PAGES}")
    rows = news_pages()
    return {"storyline": score_extraction(rows, storyline_extract),
            "trafilatura": score_extraction(rows, trafilatura_extract)}


@needs_data
def test_extraction_not_worse_than_trafilatura_alone(scores):
    ours, library = scores["storyline"], scores["trafilatura"]
    margin = BASELINE["margin"]
    assert ours["pages"] == 149
    for key in ("f1", "precision", "recall", "title_accuracy", "date_accuracy"):
        assert ours[key] >= library[key] - margin, f"{key}: {ours[key]} vs trafilatura {library[key]}"


@needs_data
def test_extraction_quality_gate_against_pinned_baseline(scores):
    ours, pinned = scores["storyline"], BASELINE["storyline"]
    for key in ("f1", "precision", "recall", "title_accuracy", "date_accuracy"):
        assert ours[key] >= pinned[key] - BASELINE["margin"], f"{key} regressed: {ours[key]} < pinned {pinned[key]}"


def test_extract_article_fields():
    article = extract_article(PAGE, url="https://coastal.example/news/bridge-reopens?utm_source=rss",
                              fetched_at=datetime(2024, 3, 2, 9, tzinfo=timezone.utc))
    assert article.title == "Harbour bridge to reopen"
    assert "Sentence number 11" in article.text and "Cookie settings" not in article.text and "Sport" not in article.text
    assert article.url == "https://coastal.example/news/bridge-reopens"
    assert article.author == "Ana Ruiz" and article.source == "Coastal Times" and article.language == "en"
    assert article.published and article.published.date().isoformat() == "2024-03-02"
    assert article.fetched_at and article.origin.startswith("https://coastal.example/")


def test_empty_page_is_an_extraction_error():
    with pytest.raises(ExtractionError, match="no article text"):
        extract_article(b"<html><body></body></html>", origin="empty.html")


@pytest.mark.parametrize("title, expected", [
    ("Harbour bridge to reopen - Coastal Times", "Harbour bridge to reopen"),
    ("Coastal Times | Harbour bridge to reopen", "Harbour bridge to reopen"),
    ("Bridge – what happens next?", "Bridge – what happens next?"),
    ("Losing face: masks stolen | The Japan Times", "Losing face: masks stolen"),
])
def test_strip_site_name(title, expected):
    assert strip_site_name(title, "Coastal Times" if "Coastal" in title else "", "https://www.japantimes.co.jp/x") == expected


def test_local_html_files(tmp_path):
    (tmp_path / "a.html").write_bytes(PAGE)
    (tmp_path / "b.htm").write_bytes(PAGE.replace(b"bridge-reopens", b"other"))
    (tmp_path / "c.html.gz").write_bytes(gzip.compress(PAGE))
    (tmp_path / "broken.html.gz").write_bytes(b"not gzip at all")
    (tmp_path / "empty.html").write_bytes(b"<html></html>")
    report = ReadReport()
    articles = list(read_paths([tmp_path], report))
    assert len(articles) == 3 and all(a.title == "Harbour bridge to reopen" for a in articles)
    assert len({a.id for a in articles}) == 3  # one per file
    assert sorted(Path(e.where).name for e in report.errors) == ["broken.html.gz", "empty.html"]
    assert list(read_paths([tmp_path / "a.html"]))[0].id == articles[0].id  # stable


@needs_data
def test_real_gzipped_page_reads():
    report = ReadReport()
    articles = list(read_paths([PAGES / "html" / "0a6291ebbce449b3b04256b43c73e39d.html.gz"], report))
    assert not report.errors and articles[0].title.endswith("Lotte Tobisch ist tot")
    assert "Opernball" in articles[0].text and articles[0].language == "de"


def test_teaser_detection():
    assert is_teaser(Article(id="1", title="t", text="Short summary.", url="https://x.example/a"))
    assert not is_teaser(Article(id="1", title="t", text="Short summary.", url=""))
    assert not is_teaser(Article(id="1", title="t", text=BODY, url="https://x.example/a"))


def test_complete_from_page_keeps_identity():
    entry = Article(id="feed-1", title="Bridge", text="Short.", url="https://coastal.example/b?rss", source="Coastal RSS",
                    origin="https://coastal.example/feed")
    page = extract_article(PAGE, url="https://coastal.example/b")
    done = complete_from_page(entry, page)
    assert done.id == "feed-1" and done.source == "Coastal RSS" and done.origin == entry.origin
    assert done.text == page.text and done.url == "https://coastal.example/news/bridge-reopens"
    assert done.author == "Ana Ruiz" and done.content_hash != entry.content_hash


def test_teaser_page_fetched_over_loopback_respecting_robots():
    with LoopbackServer() as server:
        server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /paywall/\n")
        server.routes["/news/bridge"] = Route(body=PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
        server.routes["/paywall/bridge"] = Route(body=PAGE, headers={"Content-Type": "text/html"})
        feed = f"""<rss version="2.0"><channel><title>Coastal</title>
<item><title>Bridge</title><link>{server.url('/news/bridge')}</link><description>Short teaser.</description></item>
<item><title>Paywalled</title><link>{server.url('/paywall/bridge')}</link><description>Teaser.</description></item>
</channel></rss>""".encode()
        entries = parse_feed(feed, origin=server.url("/feed")).articles
        with Fetcher(loopback_settings()) as fetcher:
            done = complete_teaser(entries[0], fetcher)
            assert "Sentence number 11" in done.text and done.id == entries[0].id
            with pytest.raises(Exception, match="robots.txt"):
                complete_teaser(entries[1], fetcher)
        assert server.hits("/paywall/bridge") == 0
