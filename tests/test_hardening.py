"""Hardening: the ingest boundary (properties), per-item guards (fault injection), input hygiene,
address policy, and the web's limits with hostile stored values."""
from __future__ import annotations

import ipaddress
import json
import random
import string
import xml.dom.minidom
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from ingest_helpers import LoopbackServer, Route, loopback_settings
from storyline.config import Settings
from storyline.ingest import ReadReport, read_paths
from storyline.ingest import boundary, feeds, files
from storyline.ingest.boundary import EARLIEST, checked_date, checked_url, clean_string, prepare
from storyline.ingest.feeds import neutralize_doctype
from storyline.ingest.fetch import Fetcher, RobotsDisallowedError
from storyline.ingest.files import article_from_record
from storyline.ingest.safety import address_problem
from storyline.models import Article
from storyline.service import is_url
from storyline.engine import open_engine
from storyline.web import create_app
from storyline.web.feeds import xml_text

BAD_CHARS = set(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127, *range(0x80, 0x85), *range(0x86, 0xA0)]))


def _clean(value: str) -> bool:
    return not any(c in BAD_CHARS or 0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff" for c in value)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


# ---------------------------------------------------------------- the boundary, as properties

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                         st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=8)
FIELDS = ["id", "title", "text", "url", "source", "published", "headline", "body", "link", "date", "author"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
def test_any_record_becomes_a_clean_article_or_a_clear_refusal(record):
    try:
        article = article_from_record(record, item_id="x", origin="f.jsonl:1")
    except ValueError as exc:
        assert str(exc)  # a reason, never a traceback of another kind
        return
    for value in (article.title, article.text, article.url, article.source, article.author, article.id):
        assert isinstance(value, str) and _clean(value)
        value.encode("utf-8")  # storable and printable
    assert article.title or article.text
    assert "[" not in article.url[:1] and not article.url.startswith(("javascript:", "data:", "file:"))
    if article.published is not None:
        assert EARLIEST <= article.published <= datetime.now(UTC) + timedelta(days=2, minutes=1)
    assert prepare(article).article == article  # idempotent


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_cleaned_strings_are_valid_utf8_xml_and_terminal_safe(value):
    for single in (False, True):
        out = clean_string(value, single_line=single)
        out.encode("utf-8")
        assert _clean(out) and "\x1b" not in out and "\r" not in out
        assert xml_text(out) == out
        if single:
            assert "\n" not in out


@settings(max_examples=150, deadline=None)
@given(st.one_of(json_scalars, st.text(alphabet="0123456789-+:TZ .e", max_size=40), st.datetimes(timezones=st.timezones())))
def test_dates_never_raise_and_stay_in_range(value):
    when, why = checked_date(value)
    assert (when is None) or (EARLIEST <= when <= datetime.now(UTC) + timedelta(days=2, minutes=1) and when.tzinfo)
    assert when is not None or value in (None, "") or why


@pytest.mark.parametrize("value", [1e30, -1e30, float("inf"), float("nan"), "99999999999999999999", "1e30",
                                   "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", True, {"a": 1}, ["x"],
                                   "Fri, 31 Dec 9999 23:59:59 -1400", "1899-12-31T23:59:59Z"])
def test_extreme_dates_are_dropped_with_a_reason(value):
    assert checked_date(value)[0] is None and checked_date(value)[1]


def test_sane_dates_pass_in_utc():
    when, why = checked_date("2026-03-10T08:00:00-05:00")
    assert when == datetime(2026, 3, 10, 13, 0, tzinfo=UTC) and not why
    assert checked_date(1_700_000_000_000)[0] == datetime.fromtimestamp(1_700_000_000, tz=UTC)


@pytest.mark.parametrize(("url", "kept"), [("HTTP://NEWS.EXAMPLE/A", "http://NEWS.EXAMPLE/A"), ("https://x.example/", "https://x.example/"),
                                           ("javascript:alert(1)", ""), ("file:///etc/passwd", ""), ("/relative", "/relative")])
def test_urls_at_the_boundary(url, kept):
    assert checked_url(url)[0] == kept


def test_wrong_typed_fields_are_never_stored_as_python_reprs(tmp_path):
    src = write(tmp_path / "t.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": "1", "title": ["Storm", "closes port"], "text": "Body.", "source": ["AP", "Reuters"]},
        {"id": "2", "title": "Object text", "text": {"p": 1}},
        {"id": "3", "title": "Number url", "text": "t", "url": 12345, "published": [2026]},
        {"id": "4", "title": True, "text": "Bool title"},
    ]) + "\n")
    report = ReadReport()
    got = {a.id.rsplit(":", 1)[-1]: a for a in read_paths([src], report)}
    assert got["1"].title == "Storm, closes port" and got["1"].source == "AP, Reuters"
    assert "2" not in got and any("t.jsonl:2" in str(e) and "'text' is an object" in str(e) for e in report.errors)
    assert got["3"].url == "12345" and got["3"].published is None
    assert "4" not in got and any("t.jsonl:4" in str(e) and "'title' is true" in str(e) for e in report.errors)
    assert not any("[" in a.title or "{" in a.text for a in got.values())


def test_ids_are_namespaced_per_file_and_repeats_reported(tmp_path):
    a = write(tmp_path / "a.jsonl", '{"id": 1, "title": "One A"}\n{"id": 2, "title": "Two A"}\n{"id": 2, "title": "Two A again"}\n'
                                    '{"id": 1, "title": "One A"}\n')
    b = write(tmp_path / "b.jsonl", '{"id": 1, "title": "One B"}\n{"id": 2, "title": "Two B"}\n')
    report = ReadReport()
    items = list(read_paths([a, b], report))
    assert [x.title for x in items] == ["One A", "Two A", "Two A again", "One B", "Two B"]
    assert len({x.id for x in items}) == 5
    notes = [str(w) for w in report.warnings]
    assert any("a.jsonl:3" in n and "already used by" in n for n in notes)
    assert any("a.jsonl:4" in n and "repeats the same item" in n for n in notes)
    again = list(read_paths([a, b]))
    assert [x.id for x in again] == [x.id for x in items]  # stable


def test_control_characters_and_escapes_are_removed(tmp_path):
    src = write(tmp_path / "c.jsonl", json.dumps({"title": "\x1b[2J\x1b[31mRed\x1b]0;pwned\x07 alert\x00",
                                                   "text": "a\rb\x0bc\x9bd \ud800e", "source": "Out\nlet"}) + "\n")
    (article,) = read_paths([src])
    assert article.title == "Red alert" and article.text == "a\nb\ncd e"
    assert _clean(article.title + article.text + article.source) and article.source == "Out let"


# ---------------------------------------------------------------- one item never aborts a batch

def _three(tmp_path: Path) -> Path:
    return write(tmp_path / "three.jsonl", "".join(json.dumps({"id": n, "title": f"Item {n}", "text": "Body."}) + "\n"
                                                   for n in ("one", "two", "three")))


def test_fault_in_preparing_one_item_is_one_error_line(tmp_path, monkeypatch):
    real = files.prepare

    def faulty(article, **kw):
        if article.title == "Item two":
            raise RuntimeError("injected fault")
        return real(article, **kw)

    monkeypatch.setattr(files, "prepare", faulty)
    report = ReadReport()
    assert [a.title for a in read_paths([_three(tmp_path)], report)] == ["Item one", "Item three"]
    (err,) = report.errors
    assert "three.jsonl:2" in err.where and "RuntimeError: injected fault" in err.reason


def test_reading_skips_only_a_second_prepare_that_would_change_nothing(tmp_path):
    """A JSONL article is prepared by its reader and again by read_paths; the second is skipped
    only when it is a no-op (an entity left by decoding one, or a character NFC composes once an
    invisible one is gone, still change in it)."""
    tricky = ["&amp;lt;b&amp;gt; tag", "e\u200d\u0301 accent", "Plain title", "a\u00a0b  c\td", "x\u2028y \x1b[1m",
              "R&D &copy", "caf\u00e9 \u2019quoted\u2019"]
    lines = [json.dumps({"id": i, "title": t, "text": f"{t} body\n\n  second\r\n"}) for i, t in enumerate(tricky)]
    got = list(read_paths([write(tmp_path / "t.jsonl", "\n".join(lines) + "\n")], ReadReport()))
    for art, t in zip(got, tricky, strict=True):
        twice = prepare(prepare(Article(id=art.id, title=t, text=f"{t} body\n\n  second\r\n")).article).article
        assert (art.title, art.text, art.content_hash) == (twice.title, twice.text, twice.content_hash)
        assert prepare(art).article == art or not boundary.is_prepared(art)
    assert got[0].title == "<b> tag" and got[1].title == "\u00e9 accent"  # what the second prepare still did
    assert boundary.is_prepared(got[2]) and boundary.is_prepared(got[6])
    assert not boundary.is_prepared(Article(id="x", title="&lt;b&gt;")) and not boundary.is_prepared(Article(id="x", title=" a"))


def test_fault_in_a_reader_stops_that_file_only(tmp_path, monkeypatch):
    def broken(path, report):
        yield Article(id="b1", title="Before the fault", origin=f"{path}:1")
        raise MemoryError("injected")

    monkeypatch.setitem(files.READERS, ".broken", broken)
    bad = write(tmp_path / "x.broken", "x")
    report = ReadReport()
    got = [a.title for a in read_paths([bad, _three(tmp_path)], report)]
    assert got == ["Before the fault", "Item one", "Item two", "Item three"]
    assert "x.broken" in report.errors[0].where and "reading stopped after 1 item" in report.errors[0].reason


def test_fault_in_one_feed_entry_is_one_error_line(tmp_path, monkeypatch):
    real = feeds._xml_article

    def faulty(entry, *args):
        if "two" in str(entry.get("title")):
            raise KeyError("injected")
        return real(entry, *args)

    monkeypatch.setattr(feeds, "_xml_article", faulty)
    items = "".join(f"<item><title>Entry {n}</title><link>https://e.example/{n}</link></item>" for n in ("one", "two", "three"))
    feed = write(tmp_path / "f.rss", f"<rss version='2.0'><channel><title>F</title>{items}</channel></rss>")
    report = ReadReport()
    assert [a.title for a in read_paths([feed], report)] == ["Entry one", "Entry three"]
    assert "f.rss#entry2" in report.errors[0].where and "KeyError" in report.errors[0].reason


def test_fault_in_one_jsonl_record_is_one_error_line(tmp_path, monkeypatch):
    real = files._record_article

    def faulty(path, record, number, *args):
        if number == 2:
            raise OverflowError("injected")
        return real(path, record, number, *args)

    monkeypatch.setattr(files, "_record_article", faulty)
    report = ReadReport()
    assert [a.title for a in read_paths([_three(tmp_path)], report)] == ["Item one", "Item three"]
    assert report.errors[0].where.endswith("three.jsonl:2") and "OverflowError" in report.errors[0].reason


# ---------------------------------------------------------------- bounded, linear readers

def test_unclosed_doctype_is_dropped_in_linear_time_and_entries_survive():
    items = "".join(f"<item><title>Entry {n}</title><link>https://e.example/{n}</link></item>" for n in range(3))
    doc = ("<?xml version='1.0'?><!DOCTYPE rss [" + "<!ENTITY a " * 36000 + f"<rss version='2.0'><channel><title>T</title>{items}"
           "</channel></rss>").encode()
    safe, warnings = neutralize_doctype(doc)
    assert len(safe) < 1000 and "never closes" in warnings[0]
    assert [a.title for a in feeds.parse_feed(doc, origin="x").articles] == ["Entry 0", "Entry 1", "Entry 2"]


def test_csv_field_over_the_old_limit_and_unclosed_quote_keep_the_rest(tmp_path):
    rows = ["id,title,text", '1,"First","ok"', '2,"Huge","' + "y" * 200_000 + '"', "3,Third,x,extra", '4,"Fourth","ok"']
    report = ReadReport()
    got = [a.title for a in read_paths([write(tmp_path / "r.csv", "\n".join(rows) + "\n")], report)]
    assert got == ["First", "Huge", "Fourth"] and "r.csv:4" in report.errors[0].where
    runaway = "id,title,text\n1,One,ok\n2,\"never closed,x\n" + "".join(f"{n},Row {n},t\n" for n in range(3, 1100))
    report = ReadReport()
    got = [a.title for a in read_paths([write(tmp_path / "q.csv", runaway)], report)]
    assert got[0] == "One" and "Row 1099" in got and any("q.csv:3" in e.where for e in report.errors)


def test_special_files_and_symlinks_out_of_a_folder_are_not_read(tmp_path):
    import os

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox / "ok.jsonl", '{"title": "Inside"}\n')
    (inbox / "passwd.txt").symlink_to("/etc/passwd")
    (inbox / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(inbox / "pipe.jsonl")
    report = ReadReport()
    assert [a.title for a in read_paths([inbox, "/dev/zero"], report)] == ["Inside"]
    reasons = {Path(e.where).name: e.reason for e in report.errors}
    assert "not followed" in reasons["passwd.txt"] and "not followed" in reasons["zero.txt"]
    assert "FIFO" in reasons["pipe.jsonl"] and "device" in reasons["zero"]


def test_huge_line_and_sparse_file_are_refused_without_being_held(tmp_path):
    line = tmp_path / "big.jsonl"
    with open(line, "wb") as fh:
        fh.write(b'{"title": "Before"}\n{"title": "' + b"x" * (9 << 20) + b'"}\n{"title": "After"}\n')
    sparse = tmp_path / "sparse.xml"
    with open(sparse, "wb") as fh:
        fh.truncate(3 << 30)
    report = ReadReport()
    assert [a.title for a in read_paths([line, sparse], report)] == ["Before", "After"]
    assert "big.jsonl:2" in report.errors[0].where and "cap" in report.errors[0].reason
    assert "3,221,225,472 bytes" in report.errors[1].reason


# ---------------------------------------------------------------- input hygiene (issue 17)

def test_binary_files_are_refused_whole_and_valid_files_still_stored(tmp_path, data_dir):
    good = write(tmp_path / "good.jsonl", '{"title": "Tellford Bridge reopens", "text": "The span reopened."}\n')
    noise = write(tmp_path / "noise.bin", random.Random(7).randbytes(10_000_000))
    proc = run_cli("ingest", "--data-dir", str(data_dir), "/bin/ls", str(noise), str(good))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert sum("/bin/ls" in x and "ELF" in x for x in lines) == 1
    assert sum("noise.bin" in x and "NUL bytes" in x for x in lines) == 1
    rows = [json.loads(x) for x in run_cli("export", "articles", "--data-dir", str(data_dir)).stdout.splitlines()]
    assert [r["title"] for r in rows] == ["Tellford Bridge reopens"]


def test_empty_input_says_so(tmp_path):
    empty = write(tmp_path / "empty.txt", b"")
    proc = run_cli("digest", str(empty))
    assert proc.returncode != 0 and "empty.txt" in proc.stderr and "empty" in proc.stderr


def test_digest_output_has_no_terminal_escapes_and_json_survives_surrogates(tmp_path):
    src = write(tmp_path / "e.jsonl", json.dumps({"title": "Alarm \x1b[2J\x1b]0;owned\x07 in port", "source": "S\ud800",
                                                  "text": "Ships \x9b2J left the harbor at dawn."}) + "\n")
    text = run_cli("digest", str(src))
    assert text.returncode == 0 and "\x1b" not in text.stdout and "\x9b" not in text.stdout
    as_json = run_cli("digest", "--json", str(src))
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["stories"][0]["headline"].startswith("Alarm")


def test_feeds_add_refuses_now_what_fetching_would_refuse(data_dir):
    for url, words in (("not-a-url", "only http and https"), ("file:///etc/passwd", "only http and https"),
                       ("http://127.0.0.1/feed", "loopback"), ("http://[fec0::1]/f", "site-local")):
        proc = run_cli("feeds", "--data-dir", str(data_dir), "add", url)
        assert proc.returncode != 0 and words in proc.stderr and "not subscribed" in proc.stderr
    assert "no feeds subscribed" in run_cli("feeds", "--data-dir", str(data_dir)).stderr


# ---------------------------------------------------------------- network policy and URLs

@pytest.mark.parametrize("address", ["192.0.0.8", "192.0.0.1", "fec0::1", "feff::1", "::ffff:192.0.0.8"])
def test_more_non_public_addresses_are_refused(address):
    assert address_problem(ipaddress.ip_address(address))


def test_upper_case_http_is_a_url():
    assert is_url("HTTP://EXAMPLE.COM/feed") and is_url("Https://example.com/") and not is_url("http.txt")


def test_unfetchable_robots_txt_is_not_called_a_disallow():
    with LoopbackServer() as server, Fetcher(loopback_settings()) as fetcher:
        server.routes["/robots.txt"] = Route(status=503)
        server.routes["/a.html"] = Route(body=b"<html></html>")
        with pytest.raises(RobotsDisallowedError) as caught:
            fetcher.fetch(server.url("/a.html"), check_robots=True)
    assert "could not be fetched (HTTP 503)" in caught.value.reason and "not a disallow" in caught.value.reason


# ---------------------------------------------------------------- the web with hostile stored values

def _hostile_store(data_dir: Path):
    store = open_engine(Settings(data_dir=data_dir))
    text = "Harbor officials in Quendale said the ferry pier will reopen next week after repairs to its pilings."
    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    early = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14)))
    articles = [  # stored as a store from before the boundary could hold them
        Article(id="late", title="Ferry pier\x00 reopens \x1b[31m late", text=text, source="Quendale\x0b Post",
                url="https://q.example/late", published=late),
        Article(id="early", title="Ferry pier reopens \x07 early", text=text + " Early.", source="Mirrow \ufffe Wire",
                url="https://m.example/early", published=early),
        Article(id="ok", title="Ferry pier reopens on time", text=text + " On time.", source="Valley Wire",
                url="https://v.example/ok", published=datetime(2026, 3, 10, 8, 0, tzinfo=UTC)),
    ]
    store.add_articles(articles)
    return store


@pytest.fixture()
def hostile_client(data_dir: Path) -> Iterator[TestClient]:
    store = _hostile_store(data_dir)
    with TestClient(create_app(Settings(data_dir=data_dir, editor_token="tok"), store=store),
                    raise_server_exceptions=False) as c:
        yield c


def test_extreme_dates_and_control_characters_keep_every_page_up(hostile_client):
    c = hostile_client
    stories = c.get("/api/stories").json()["stories"]
    assert stories
    paths = ["/", "/outlets", "/search?q=ferry", "/api/stories", "/api/articles", "/api/outlets", "/feed.atom",
             "/feed.json", "/feed.atom?q=ferry", "/docs", "/api/search?q=pier", "/outlets/Valley%20Wire"]
    for s in stories:
        paths += [f"/stories/{s['id']}", f"/stories/{s['id']}/about", f"/api/stories/{s['id']}",
                  f"/stories/{s['id']}/feed.atom", f"/stories/{s['id']}/feed.json",
                  f"/stories/{s['id']}?since=9999-12-31", f"/stories/{s['id']}?since=0001-01-01",
                  f"/api/stories/{s['id']}/updates?since=9999-12-31T23:59:59Z"]
    for path in paths:
        r = c.get(path)
        assert 200 <= r.status_code < 300, (path, r.status_code, r.text[:300])
    atom = c.get("/feed.atom").content
    xml.dom.minidom.parseString(atom)
    parsed = feedparser.parse(atom)
    assert not parsed.bozo and parsed.entries
    json.loads(c.get("/feed.json").content)


def test_unauthenticated_big_body_is_403_before_parsing(hostile_client):
    big = b"{" + b" " * (5 << 20) + b"}"
    r = hostile_client.post("/api/stories/x/merge", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 403
    r = hostile_client.post("/stories/x/edit", content=b"a=" + b"b" * (5 << 20))
    assert r.status_code == 403 and r.headers["content-security-policy"]
    authed = hostile_client.post("/api/stories/x/merge", content=big, headers={"authorization": "Bearer tok"})
    assert authed.status_code == 413


def test_server_errors_carry_the_security_headers(hostile_client, monkeypatch):
    from storyline.web import views

    monkeypatch.setattr(views, "front", lambda *a, **k: 1 / 0)
    r = hostile_client.get("/?fresh=1")
    assert r.status_code == 500
    assert "default-src 'self'" in r.headers["content-security-policy"] and r.headers["x-frame-options"] == "DENY"


def test_docs_work_offline(hostile_client):
    page = hostile_client.get("/docs")
    assert page.status_code == 200 and "cdn." not in page.text and "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "https:" not in page.headers["content-security-policy"]
    bundle = hostile_client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000


def test_response_cache_is_bounded_in_bytes(hostile_client):
    web = hostile_client.app.state.web
    web.cache.max_bytes = 400_000
    for n in range(300):
        assert hostile_client.get(f"/?variant={n}").status_code == 200
    assert web.cache.bytes <= 400_000 and len(web.cache) < 300
