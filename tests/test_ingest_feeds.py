"""Feeds and OPML: feedparser's conformance suite, real captured feeds, XML safety."""
from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import feedparser
import pytest

from ingest_helpers import DATA, LoopbackServer, Route, data_path, loopback_settings, needs_data
from storyline.config import Settings
from storyline.errors import BlockedAddressError, IngestError
from storyline.ingest import ReadReport, read_paths
from storyline.ingest.feeds import html_to_text, neutralize_doctype, parse_feed
from storyline.ingest.fetch import Fetcher
from storyline.ingest.opml import parse_opml
from storyline.ingest.watch import read_url

CONFORMANCE = DATA / "feeds" / "feedparser"
CAPTURED = DATA / "feeds" / "rss-parser"
_TAG = re.compile(r"<(?:script|iframe|object|embed|style|img|a|p|div|span)\b[^<>]*>", re.I)


def _manifest() -> list[dict]:
    path = CONFORMANCE / "manifest.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _comment_field(data: bytes, name: str) -> list[str]:
    """Values of ``Name:`` lines in the leading comment of a conformance file (any encoding)."""
    text = data.replace(b"\x00", b"").decode("latin-1")
    comment = text.split("-->", 1)[0]
    return [m.group(1).strip() for m in re.finditer(rf"^{name}:\s*(.*)$", comment, re.M)]


CASES = _manifest()


def _expectation(case: dict, data: bytes) -> str:
    return case.get("expect") or _comment_field(data, "Expect")[0]


def _holds(expect: str, result: dict, extra: dict | None = None) -> bool:
    env = dict(result)
    env.update(extra or {})
    try:
        return bool(eval(expect, {"feedparser": feedparser}, env))  # noqa: S307 - the suite's own expressions
    except Exception:  # noqa: BLE001 - a failing expression is a failed expectation
        return False


@needs_data
def test_manifest_covers_the_suite():
    assert len(CASES) == 297
    assert sum(c["path"].startswith("encoding/") for c in CASES) == 82  # + chardet and encoding cases elsewhere
    assert sum("encoding" in c["path"] or "chardet" in c["path"] for c in CASES) >= 85
    assert sum(c["path"].startswith("illformed/") for c in CASES) >= 19


@needs_data
@pytest.mark.parametrize("case", CASES, ids=[c["path"] for c in CASES])
def test_feedparser_conformance(case):
    """Each file, through storyline's safe parse, meets its expectation — or feedparser 6.0
    itself fails it too (then it is an expected failure of the library, not of storyline)."""
    data = (CONFORMANCE / case["path"]).read_bytes()
    for condition in _comment_field(data, "SkipUnless"):
        try:
            eval(condition, {"feedparser": feedparser})  # noqa: S307
        except Exception:  # noqa: BLE001
            pytest.skip(f"needs {condition} (an optional library)")
    expect = _expectation(case, data)
    if case["path"].startswith("wellformed/http/"):
        pytest.skip("HTTP header case: run over the loopback server in test_http_header_cases")
    headers = dict(h.split(":", 1) for h in case.get("header", []))
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    try:
        feed = parse_feed(data, origin=case["path"], headers=headers)
        raw = feed.raw
        articles = feed.articles
    except IngestError as exc:  # nothing readable: reported, never a traceback
        assert exc.reason and case["path"] in str(exc)
        safe, _ = neutralize_doctype(data)
        raw = feedparser.parse(io.BytesIO(safe), response_headers={k.lower(): v for k, v in headers.items()})
        articles = []
    for article in articles:
        assert not _TAG.search(article.text) and not _TAG.search(article.title), "HTML left in article text"
        assert article.origin == case["path"] and article.id
    if not _holds(expect, raw):
        plain = feedparser.parse(io.BytesIO(data), response_headers={k.lower(): v for k, v in headers.items()})
        assert not _holds(expect, plain), f"storyline fails {expect!r} where feedparser alone passes"
        pytest.xfail(f"feedparser {feedparser.__version__} itself fails: {expect}")


@needs_data
def test_http_header_cases_over_loopback():
    """The wellformed/http cases, served with their headers by a real server and fetched."""
    cases = [c for c in CASES if c["path"].startswith("wellformed/http/")]
    assert cases
    with LoopbackServer() as server, Fetcher(loopback_settings()) as fetcher:
        for case in cases:
            data = (CONFORMANCE / case["path"]).read_bytes()
            headers = dict(h.split(":", 1) for h in _comment_field(data, "Header"))
            path = "/" + case["path"]
            headers = {"Content-Type": "application/xml", **{k.strip(): v.strip() for k, v in headers.items()}}
            server.routes[path] = Route(body=data, headers=headers)
            result = fetcher.fetch(server.url(path))
            feed = parse_feed(result.content, origin=result.url, headers=result.headers)
            extra = {"headers": result.headers, "href": result.url}
            if result.etag:
                extra["etag"] = result.etag
            if result.last_modified:
                extra["modified"] = result.last_modified
                extra["modified_parsed"] = feedparser.datetimes._parse_date(result.last_modified)
            expect = _expectation(case, data).replace("127.0.0.1:8097", server.base.split("//", 1)[1])
            assert _holds(expect, feed.raw, extra), f"{case['path']}: {expect}"


# ---------------------------------------------------------------- real captured feeds

def _captured_inputs() -> list[Path]:
    folder = CAPTURED / "input"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@needs_data
@pytest.mark.parametrize("path", _captured_inputs(), ids=lambda p: p.name)
def test_captured_feeds_match_expected_output(path):
    expected_file = CAPTURED / "expected_output" / (path.stem + ".json")
    if path.name == "unrecognized.rss":
        with pytest.raises(IngestError, match="not a readable feed"):
            parse_feed(path.read_bytes(), origin=str(path))
        return
    feed = parse_feed(path.read_bytes(), origin=str(path))
    if not expected_file.exists():
        assert feed.articles, "no expected output, but the feed has entries"
        return
    expected = json.loads(expected_file.read_bytes().decode("utf-8", "replace"))["feed"].get("items", [])
    readable = [i for i in expected if i.get("title") or (i.get("link") or "").strip().startswith("http")
                or i.get("content") or i.get("contentSnippet")]
    assert len(feed.articles) == len(readable)
    assert [a.url for a in feed.articles] == [(i.get("link") or "").strip() for i in readable]
    for article in feed.articles:
        assert article.source == feed.title and article.origin == str(path)
        assert not _TAG.search(article.text)


@needs_data
def test_reading_the_captured_folder_reports_only_the_broken_feed():
    report = ReadReport()
    articles = list(read_paths([data_path("feeds", "rss-parser", "input")], report))
    assert report.files == 30
    assert len(articles) > 600
    assert [Path(e.where).name for e in report.errors] == ["unrecognized.rss"]
    assert len({a.id for a in articles}) == len(articles)
    again = list(read_paths([CAPTURED / "input"]))
    assert [a.id for a in again] == [a.id for a in articles]  # stable ids: nothing new the second time


@needs_data
def test_captured_feed_fields():
    feed = parse_feed(data_path("feeds", "rss-parser", "input", "guardian.rss").read_bytes(), origin="guardian")
    first = feed.articles[0]
    assert first.title == "Trump State of the Union address promised unity but emphasized discord"
    assert first.published and first.published.isoformat() == "2018-01-31T07:26:05+00:00"
    assert first.author == "David Smith in Washington"
    assert first.language == "en" and feed.source if hasattr(feed, "source") else True
    assert first.text and "<" not in first.text


# ---------------------------------------------------------------- XML safety

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title>
<item><title>&lol9;</title><link>http://example.org/1</link><description>&lol9;</description></item>
<item><title>Plain entry</title><link>http://example.org/2</link><description>fine</description></item>
</channel></rss>"""


def test_billion_laughs_is_not_expanded():
    start = time.monotonic()
    feed = parse_feed(BILLION_LAUGHS, origin="laughs.xml")
    assert time.monotonic() - start < 2
    assert any("dropped, not expanded" in w for w in feed.warnings)
    assert all(len(a.title) < 100 and len(a.text) < 100 for a in feed.articles)
    assert "Plain entry" in [a.title for a in feed.articles]


def test_same_line_entity_declarations_are_caught():
    doc = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
           b'<rss version="2.0"><channel><title>t</title><item><title>x &b;</title><link>http://e/1</link></item></channel></rss>')
    safe, warnings = neutralize_doctype(doc)
    assert b"&a;&a;" not in safe.split(b"<rss")[0] and warnings
    assert len(parse_feed(doc, origin="x").articles[0].title) < 40


def test_doctype_behind_long_comments_is_still_found():
    doc = BILLION_LAUGHS.replace(b"<!DOCTYPE", b"<!--" + b"x" * 300_000 + b"-->\n<!DOCTYPE", 1)
    assert neutralize_doctype(doc)[1]


def test_quadratic_blowup_is_refused():
    doc = (b'<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY a "' + b"a" * 50_000 + b'">\n]>\n<rss version="2.0"><channel>'
           b"<title>t</title><item><title>" + b"&a;" * 2000 + b"</title><link>http://e/1</link></item></channel></rss>")
    feed = parse_feed(doc, origin="q")
    assert any("would expand" in w for w in feed.warnings)
    assert all(len(a.title) < 10_000 for a in feed.articles)


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY x SYSTEM "file://{secret}">\n]>\n'
           '<rss version="2.0"><channel><title>t</title><item><title>a &x;</title><description>&x;</description>'
           '<link>http://e/1</link></item></channel></rss>').encode()
    feed = parse_feed(doc, origin="ext")
    assert all("TOP-SECRET" not in a.title + a.text for a in feed.articles)


def test_utf16_doctype_is_neutralized():
    doc = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="utf-16"?>').decode().encode("utf-16")
    safe, warnings = neutralize_doctype(doc)
    assert warnings and "lol9" not in safe.decode("utf-16").split("<rss")[0]
    assert parse_feed(doc, origin="u16").articles


def test_oversized_feed_refused():
    with pytest.raises(IngestError, match="cap"):
        parse_feed(b"<rss>" + b" " * 2000 + b"</rss>", origin="big", max_bytes=1000)


def test_not_a_feed_is_reported():
    with pytest.raises(IngestError, match="not a"):
        parse_feed(b"<html><body><p>hello</p></body></html>", origin="page.xml")
    with pytest.raises(IngestError):
        parse_feed(b"", origin="empty.xml")


# ---------------------------------------------------------------- text, JSON Feed, OPML

def test_html_is_stripped_from_entries():
    text = html_to_text('<p>One &amp; <b>two</b></p><script>alert(1)</script><style>p{}</style><ul><li>three</li></ul>')
    assert text == "One & two\nthree"


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1", "title": "Daily Planet", "home_page_url": "https://planet.example/",
    "language": "en-GB",
    "items": [
        {"id": "1", "url": "https://planet.example/1", "title": "Hero saves city",
         "content_html": "<p>Metropolis was <em>saved</em> today.</p>", "date_published": "2024-05-01T10:00:00Z",
         "authors": [{"name": "Lois Lane"}]},
        {"id": "2", "url": "https://planet.example/2", "content_text": "Only text here."},
        {"id": "3"},
    ],
}


def test_json_feed(tmp_path):
    data = json.dumps(JSON_FEED).encode()
    feed = parse_feed(data, origin="https://planet.example/feed.json")
    assert [a.title for a in feed.articles] == ["Hero saves city", ""]
    first = feed.articles[0]
    assert first.text == "Metropolis was saved today." and first.author == "Lois Lane"
    assert first.published.isoformat() == "2024-05-01T10:00:00+00:00" and first.language == "en"
    assert first.source == "Daily Planet" and first.url == "https://planet.example/1"
    assert any("item 2" in w for w in feed.warnings)
    path = tmp_path / "planet.feed"
    path.write_bytes(data)
    assert len(list(read_paths([path]))) == 2


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="World">
    <outline type="rss" text="Guardian World" xmlUrl="https://www.theguardian.com/world/rss" htmlUrl="https://www.theguardian.com/world"/>
    <outline type="rss" text="BBC" title="BBC News" xmlUrl="http://feeds.bbci.co.uk/news/rss.xml"/>
  </outline>
  <outline type="rss" text="dup" xmlUrl="http://feeds.bbci.co.uk/news/rss.xml"/>
  <outline text="no url"/>
</body></opml>"""


def test_opml(tmp_path):
    feeds = parse_opml(OPML)
    assert [(f.url, f.title, f.category) for f in feeds] == [
        ("https://www.theguardian.com/world/rss", "Guardian World", "World"),
        ("http://feeds.bbci.co.uk/news/rss.xml", "BBC News", "World"),
    ]
    with pytest.raises(IngestError, match="entities"):
        parse_opml(b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "x">]><opml><body/></opml>')
    with pytest.raises(IngestError, match="not an OPML"):
        parse_opml(b"<rss/>")
    with pytest.raises(IngestError, match="well-formed"):
        parse_opml(b"<opml><body>")
    path = tmp_path / "subs.opml"
    path.write_bytes(OPML)
    report = ReadReport()
    assert list(read_paths([path], report)) == [] and report.errors == []  # listed, not fetched


# ---------------------------------------------------------------- over the network

@needs_data
def test_feed_on_loopback_refused_by_default_and_read_when_allowed():
    with LoopbackServer() as server:
        url = server.url("/data/feeds/rss-parser/input/heise.atom")
        with Fetcher(Settings(per_host_delay=0)) as fetcher, pytest.raises(BlockedAddressError) as info:
            read_url(url, fetcher)
        assert "127.0.0.1" in str(info.value) and "--allow-private-network" in str(info.value)
        with Fetcher(loopback_settings()) as fetcher:
            read = read_url(url, fetcher, fetch_pages=False)
        assert read.kind == "feed" and len(read.articles) == 15
        assert all(a.origin == url and a.fetched_at for a in read.articles)
