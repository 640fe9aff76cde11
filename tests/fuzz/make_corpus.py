"""Write a corpus of malformed inputs, each placed between two valid items.

Usage: ``python tests/fuzz/make_corpus.py OUT_DIR [--small]``. Writes one folder per case under
``OUT_DIR`` and ``OUT_DIR/manifest.json``: a list of ``{"name", "kind", "paths", "markers",
"note"}``; ``paths`` are the arguments to give ``storyline ingest`` / ``digest`` (in order) and
``markers`` the titles of the valid neighbours that must come out of the run.

Where the malformation sits inside a file that can hold several items (JSONL, CSV, text,
feeds, WARC), the valid neighbours are items before and after it in the same file. Where the
whole file is the problem (binary, special files, sizes), they are two valid files given
before and after it. ``--small`` shrinks the few cases that write big files (the test suite uses
it): the huge-line case writes 12 MB instead of 100 MB.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

_WORDS = ("harbor council budget river bridge ferry mayor school clinic rail tunnel storm farmers market "
          "museum library court strike union port tariff election minister festival drought wildfire "
          "hospital airport dam canal orchard vineyard quarry mine lighthouse reservoir stadium").split()


@dataclass
class Case:
    name: str
    kind: str
    paths: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    note: str = ""


class Corpus:
    def __init__(self, root: Path, small: bool) -> None:
        self.root, self.small = root, small
        self.cases: list[Case] = []
        self._rng = random.Random(20261203)

    # -- valid neighbours -------------------------------------------------------------------
    def _sentence(self) -> str:
        words = self._rng.sample(_WORDS, 9)
        return f"The {words[0]} and the {words[1]} of {words[2].title()}ville met over the {words[3]} " \
               f"{words[4]} while {words[5]} {words[6]} {words[7]} {words[8]} plans were read."

    def item(self, case: str, where: str) -> dict[str, str]:
        title = f"Marker {case} {where}"
        return {"id": f"{case}-{where}", "title": title, "text": self._sentence(),
                "published": "2026-03-10T08:00:00Z"}

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, name: str, kind: str, paths: list[Path], markers: list[str], note: str = "") -> None:
        self.cases.append(Case(name, kind, [str(p) for p in paths], markers, note))

    # -- case shapes --------------------------------------------------------------------------
    def jsonl(self, name: str, bad_lines: list[bytes | str], note: str = "", suffix: str = ".jsonl") -> None:
        """A JSONL file: valid item, the bad line(s), valid item."""
        d = self.dir(name)
        before, after = self.item(name, "before"), self.item(name, "after")
        raw = [json.dumps(before).encode()]
        raw += [b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b for b in bad_lines]
        raw.append(json.dumps(after).encode())
        path = d / f"items{suffix}"
        path.write_bytes(b"\n".join(raw) + b"\n")
        self.add(name, "jsonl", [path], [before["title"], after["title"]], note)

    def record(self, name: str, fields: dict[str, object] | str, note: str = "") -> None:
        """A JSONL bad record with a title/text besides the odd fields (it may be stored)."""
        if isinstance(fields, str):
            self.jsonl(name, [fields], note)
            return
        base: dict[str, object] = {"title": f"Odd {name}", "text": "Body of an odd record."}
        base.update(fields)
        self.jsonl(name, [json.dumps(base, allow_nan=True)], note)

    def whole(self, name: str, filename: str, make: "callable[[Path], None] | None" = None,  # type: ignore[valid-type]
              note: str = "", extra_args: list[str] | None = None) -> Path:
        """A bad file between two valid files."""
        d = self.dir(name)
        before, after = self.item(name, "before"), self.item(name, "after")
        (d / "a_before.jsonl").write_text(json.dumps(before) + "\n", encoding="utf-8")
        (d / "z_after.jsonl").write_text(json.dumps(after) + "\n", encoding="utf-8")
        bad = d / filename
        if make is not None:
            make(bad)
        middle = extra_args if extra_args is not None else [str(bad)]
        self.cases.append(Case(name, "file", [str(d / "a_before.jsonl"), *middle, str(d / "z_after.jsonl")],
                               [before["title"], after["title"]], note))
        return bad

    def feed(self, name: str, bad_item: str, note: str = "", *, prolog: str = "", suffix: str = ".xml",
             channel_extra: str = "") -> None:
        """An RSS 2.0 feed: valid item, bad item, valid item."""
        d = self.dir(name)
        before, after = self.item(name, "before"), self.item(name, "after")

        def good(it: dict[str, str]) -> str:
            return (f"<item><title>{it['title']}</title><link>https://news.example/{it['id']}</link>"
                    f"<guid>{it['id']}</guid><description>{it['text']}</description>"
                    "<pubDate>Tue, 10 Mar 2026 08:00:00 GMT</pubDate></item>")

        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0"><channel><title>Fuzz {name}</title>'
               f"<link>https://news.example/</link>{channel_extra}{good(before)}{bad_item}{good(after)}</channel></rss>\n")
        path = d / f"feed{suffix}"
        path.write_bytes(doc.encode("utf-8", "surrogatepass"))
        self.add(name, "feed", [path], [before["title"], after["title"]], note)

    def csv(self, name: str, bad_rows: list[str], note: str = "", header: str = "id,title,text,published") -> None:
        d = self.dir(name)
        before, after = self.item(name, "before"), self.item(name, "after")

        def row(it: dict[str, str]) -> str:
            return f'{it["id"]},"{it["title"]}","{it["text"]}",{it["published"]}'

        path = d / "items.csv"
        path.write_bytes("\n".join([header, row(before), *bad_rows, row(after)]).encode("utf-8", "surrogatepass") + b"\n")
        self.add(name, "csv", [path], [before["title"], after["title"]], note)

    def text(self, name: str, bad_lines: list[bytes], note: str = "") -> None:
        d = self.dir(name)
        before, after = self.item(name, "before"), self.item(name, "after")
        path = d / "items.txt"
        path.write_bytes(b"\n".join([before["title"].encode(), *bad_lines, after["title"].encode()]) + b"\n")
        self.add(name, "text", [path], [before["title"], after["title"]], note)

    def warc(self, name: str, bad: bytes, note: str = "", *, gz: bool = False) -> None:
        d = self.dir(name)
        before, after = self.item(name, "before"), self.item(name, "after")
        data = warc_record(before) + bad + warc_record(after)
        path = d / ("archive.warc.gz" if gz else "archive.warc")
        path.write_bytes(data)
        self.add(name, "warc", [path], [before["title"], after["title"]], note)


def page_html(item: dict[str, str], extra: str = "") -> str:
    body = " ".join([item["text"]] * 6)
    return (f"<!doctype html><html><head><title>{item['title']}</title>{extra}</head><body><article>"
            f"<h1>{item['title']}</h1><p>{body}</p><p>{body}</p></article></body></html>")


def warc_record(item: dict[str, str] | None, *, payload: bytes | None = None, length: str | None = None,
                date: str = "2026-03-10T08:00:00Z", uri: str | None = None) -> bytes:
    """One WARC response record (plain, uncompressed) for ``item``'s page."""
    if payload is None:
        assert item is not None
        html = page_html(item).encode()
        payload = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    uri = uri or f"https://news.example/{item['id'] if item else 'x'}"
    rid = f"<urn:uuid:{random.Random(uri + date).getrandbits(128):032x}>"
    headers = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\n"
               f"WARC-Record-ID: {rid}\r\nContent-Type: application/http; msgtype=response\r\n"
               f"Content-Length: {length if length is not None else len(payload)}\r\n\r\n")
    return headers.encode() + payload + b"\r\n\r\n"


# ------------------------------------------------------------------------------- the cases

def build(root: Path, *, small: bool = False) -> list[Case]:
    root.mkdir(parents=True, exist_ok=True)
    c = Corpus(root, small)
    _jsonl_cases(c)
    _json_feed_cases(c)
    _csv_cases(c)
    _text_cases(c)
    _feed_cases(c)
    _opml_cases(c)
    _html_cases(c)
    _warc_cases(c)
    _binary_and_special_cases(c)
    (root / "manifest.json").write_text(json.dumps([asdict(x) for x in c.cases], indent=1), encoding="utf-8")
    return c.cases


def _jsonl_cases(c: Corpus) -> None:
    dates: list[tuple[str, str]] = [
        ("date-1e30", "1e30"), ("date-neg-1e30", "-1e30"), ("date-infinity", "Infinity"),
        ("date-neg-infinity", "-Infinity"), ("date-nan", "NaN"), ("date-20-digits", '"99999999999999999999"'),
        ("date-1e30-string", '"1e30"'), ("date-9999-minus14", '"9999-12-31T23:59:59-14:00"'),
        ("date-0001-plus14", '"0001-01-01T00:00:00+14:00"'), ("date-zeroes", '"0000-00-00T00:00:00"'),
        ("date-true", "true"), ("date-object", '{"$date": "2026-03-10"}'), ("date-list", '["2026-03-10"]'),
        ("date-negative-epoch", "-99999999999"), ("date-1800", '"1800-01-01T00:00:00Z"'),
        ("date-year-10000", '"10000-01-01"'), ("date-rfc822-9999", '"Fri, 31 Dec 9999 23:59:59 -1400"'),
        ("date-5000-digit-int", "9" * 5000), ("date-garbage", '"\\u0000\\u001b[2J"'),
        ("date-far-future", '"2999-01-01T00:00:00Z"'),
    ]
    for name, value in dates:
        c.jsonl(name, [f'{{"id": "odd", "title": "Odd {name}", "text": "Dated oddly.", "published": {value}}}'],
                "extreme or wrong-typed date")
    c.jsonl("json-deep-nesting-value", ['{"title": "Deep", "text": ' + "[" * 100_000 + "]" * 100_000 + "}"])
    c.jsonl("json-deep-nesting-record", ["[" * 200_000 + "]" * 200_000])
    c.jsonl("json-deep-unclosed", ["{" * 500_000])
    c.jsonl("json-5000-digit-int", ['{"title": "Big int", "text": "x", "count": ' + "7" * 5000 + "}"])
    c.jsonl("json-5000-digit-title", ['{"title": ' + "7" * 5000 + ', "text": "x"}'])
    c.record("lone-surrogate-url", {"url": "https://news.example/\ud800"})
    c.record("lone-surrogate-source", {"source": "Outlet \udcff"})
    c.record("lone-surrogate-title", {"title": "Title \ud83d broken pair", "text": "Text \udfff end."})
    c.record("lone-surrogate-id", {"id": "\ud800\udbff"})
    c.record("c0-controls-text", {"text": "".join(chr(i) for i in range(32)) + " then words."})
    c.record("nul-in-title", {"title": "Nul\u0000title"})
    c.record("terminal-escapes", {"title": "\u001b[2J\u001b[31mRED\u001b]0;pwned\u0007", "text": "\u001b[1000D\u009b2J text."})
    c.record("c1-controls", {"text": "".join(chr(i) for i in range(0x80, 0xA0)) + " text."})
    c.record("bidi-override", {"title": "\u202eevil\u202c title", "text": "\u2066isolate\u2069 text."})
    c.record("wrong-type-title-list", {"title": ["a", "b"]})
    c.record("wrong-type-text-dict", {"text": {"p": "body"}})
    c.record("wrong-type-url-int", {"url": 12345})
    c.record("wrong-type-source-list", {"source": ["AP", "Reuters"]})
    c.record("wrong-type-id-dict", {"id": {"x": 1}})
    c.record("wrong-type-id-float", {"id": 1.5})
    c.record("wrong-type-title-bool", {"title": True})
    c.record("wrong-type-title-number", {"title": 12345.678})
    c.record("wrong-type-title-null", {"title": None, "text": None})
    c.jsonl("json-array-line", ['["not", "an", "object"]', "null", '"a string"', "42"])
    c.jsonl("json-invalid", ['{"title": "broken', "{'single': 'quotes'}", '{"a": 1} trailing'])
    c.jsonl("invalid-utf8-line", [b'{"title": "caf\xe9 latin-1", "text": "x"}'])
    c.jsonl("cesu-surrogate-bytes", [b'{"title": "cesu \xed\xa0\x80", "text": "x"}'])
    c.jsonl("crlf-and-cr", ['{"title": "CR\\r\\nLF", "text": "a\\rb\\r\\nc"}\r'])
    c.jsonl("bom-mid-file", [b'\xef\xbb\xbf{"title": "BOM mid", "text": "x"}'])
    c.record("url-uppercase-scheme", {"url": "HTTP://NEWS.EXAMPLE/UPPER"})
    c.record("url-javascript", {"url": "javascript:alert(1)"})
    c.record("id-huge", {"id": "i" * 200_000})
    c.record("id-empty", {"id": ""})
    c.record("title-1mb", {"title": "long " * 200_000})
    c.record("combining-flood", {"title": "Z" + "\u0301" * 100_000})
    c.record("cr-flood", {"text": "a" + "\r" * 300_000 + "b"})
    c.record("whitespace-flood", {"text": "a" + " \u000b\u000c\u001c" * 200_000 + "b"})
    c.record("line-separators", {"text": "one\u2028two\u2029three\u0085four"})
    c.jsonl("repeated-id-same-file", [json.dumps({"id": "dup", "title": f"Dup {n}", "text": f"Version {n}."})
                                      for n in range(3)], "a repeated id in one file")
    c.jsonl("repeated-id-identical", [json.dumps({"id": "same", "title": "Same", "text": "Same."})] * 2)
    # two exports that both number from 1
    d = c.dir("repeated-id-across-files")
    markers = []
    paths = []
    for part in ("one", "two"):
        rows = [c.item(f"repeated-id-across-files-{part}", w) for w in ("first", "second")]
        for n, row in enumerate(rows, start=1):
            row["id"] = str(n)
        markers += [r["title"] for r in rows]
        path = d / f"export-{part}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths.append(path)
    c.add("repeated-id-across-files", "jsonl", paths, markers, "two files both numbering from 1")
    huge = (12 if c.small else 100) * 1_000_000
    name = "huge-line-jsonl"
    d = c.dir(name)
    before, after = c.item(name, "before"), c.item(name, "after")
    with open(d / "items.jsonl", "wb") as fh:
        fh.write(json.dumps(before).encode() + b"\n")
        fh.write(b'{"title": "huge", "text": "')
        block = b"word " * 200_000
        for _ in range(huge // len(block)):
            fh.write(block)
        fh.write(b'"}\n' + json.dumps(after).encode() + b"\n")
    c.add(name, "jsonl", [d / "items.jsonl"], [before["title"], after["title"]], f"a {huge:,}-byte line")


def _json_feed_cases(c: Corpus) -> None:
    def feed(name: str, items_json: str) -> None:
        d = c.dir(name)
        before, after = c.item(name, "before"), c.item(name, "after")

        def good(it: dict[str, str]) -> str:
            return json.dumps({"id": it["id"], "url": f"https://news.example/{it['id']}", "title": it["title"],
                               "content_text": it["text"], "date_published": it["published"]})

        doc = ('{"version": "https://jsonfeed.org/version/1.1", "title": "Fuzz", "items": ['
               + good(before) + "," + items_json + "," + good(after) + "]}")
        path = d / "feed.json"
        path.write_bytes(doc.encode("utf-8", "surrogatepass"))
        c.add(name, "jsonfeed", [path], [before["title"], after["title"]])

    feed("jsonfeed-date-1e30", '{"id": "x", "title": "Odd", "content_text": "t", "date_published": 1e30}')
    feed("jsonfeed-date-9999", '{"id": "x", "title": "Odd", "content_text": "t", "date_published": "9999-12-31T23:59:59-14:00"}')
    feed("jsonfeed-date-0001", '{"id": "x", "title": "Odd", "content_text": "t", "date_published": "0001-01-01T00:00:00+14:00"}')
    feed("jsonfeed-date-infinity", '{"id": "x", "title": "Odd", "content_text": "t", "date_published": Infinity}')
    feed("jsonfeed-wrong-types", '{"id": {"a": 1}, "title": ["x", "y"], "content_html": {"b": 2}, "url": 5, '
                                 '"authors": "me", "language": 7}')
    feed("jsonfeed-item-not-object", '"a string", 42, null')
    feed("jsonfeed-lone-surrogate", '{"id": "s", "title": "Sur \\ud800", "content_text": "x", "url": "https://e.example/\\udc00"}')
    feed("jsonfeed-control-chars", '{"id": "c", "title": "Ctl \\u0000\\u001b[31m", "content_text": "\\u0007bell"}')
    feed("jsonfeed-repeated-ids", ",".join('{"id": "r", "title": "Rep %d", "content_text": "v%d"}' % (n, n) for n in range(3)))
    feed("jsonfeed-deep-nesting", '{"id": "d", "title": "Deep", "content_text": "x", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}")
    feed("jsonfeed-5000-digit-int", '{"id": ' + "1" * 5000 + ', "title": "Int", "content_text": "x"}')
    feed("jsonfeed-url-uppercase", '{"id": "u", "title": "Upper url", "content_text": "x", "url": "HTTPS://NEWS.EXAMPLE/U"}')


def _csv_cases(c: Corpus) -> None:
    c.csv("csv-field-over-131072", ['big,"Big field","' + "y" * 200_000 + '",2026-03-10T08:00:00Z'])
    c.csv("csv-wrong-column-count", ["x,only two"])
    c.csv("csv-unclosed-quote", ['q,"unclosed title,text,2026-03-10'], "an unclosed quote eats the rest in RFC 4180 terms")
    c.csv("csv-extreme-dates", ['e1,"Odd date 1","t",9999-12-31T23:59:59-14:00', 'e2,"Odd date 2","t",1e30',
                                'e3,"Odd date 3","t",99999999999999999999'])
    c.csv("csv-repeated-ids", ['r,"Rep a","ta",2026-03-10', 'r,"Rep b","tb",2026-03-10'])
    c.csv("csv-control-chars", ['k,"Ctl \x1b[31m\x07","text \x01\x02",2026-03-10'])
    c.csv("csv-many-columns", [",".join(["z"] * 100_000)])
    c.csv("csv-lone-surrogate", ['s,"Sur \ud800","t",2026-03-10'])


def _text_cases(c: Corpus) -> None:
    c.text("text-terminal-escapes", [b"\x1b[2J\x1b[31mred alert\x1b]0;title\x07 and more words here."])
    c.text("text-control-chars", [bytes(range(1, 32)).replace(b"\n", b"") + b" words."])
    c.text("text-invalid-utf8", [b"caf\xe9 au lait is a drink."])
    c.text("text-cr-flood", [b"a" + b"\r" * 300_000 + b"b."])
    c.text("text-long-line", [b"word " * 2_000_000])
    c.text("text-url-upper", [b"HTTP://NEWS.EXAMPLE/x is where it was said."])


def _feed_cases(c: Corpus) -> None:
    def item(title: str, *, date: str = "Tue, 10 Mar 2026 08:00:00 GMT", link: str = "https://news.example/odd",
             guid: str = "odd", desc: str = "Odd item text.") -> str:
        return (f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid><description>{desc}</description>"
                f"<pubDate>{date}</pubDate></item>")

    c.feed("feed-unclosed-doctype", item("Odd"), prolog="<!DOCTYPE rss [" + "<!ENTITY a " * 36000)
    c.feed("feed-billion-laughs", item("Laugh &lol9;"), prolog="<!DOCTYPE rss [<!ENTITY lol \"lol\">"
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>")
    c.feed("feed-quadratic-entity", item("Q " + "&big;" * 5000), prolog='<!DOCTYPE rss [<!ENTITY big "' + "x" * 50_000 + '">]>')
    c.feed("feed-external-entity", item("Ext &ext;"), prolog='<!DOCTYPE rss [<!ENTITY ext SYSTEM "file:///etc/passwd">]>')
    c.feed("feed-parameter-entity", item("Par"), prolog='<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>')
    c.feed("feed-many-entities", item("Many"), prolog="<!DOCTYPE rss [" + "".join(f'<!ENTITY e{i} "v">' for i in range(20_000)) + "]>")
    c.feed("feed-pubdate-9999", item("Odd 9999", date="Fri, 31 Dec 9999 23:59:59 -1400"))
    c.feed("feed-pubdate-0001", item("Odd 0001", date="Mon, 01 Jan 0001 00:00:00 +1400"))
    c.feed("feed-pubdate-garbage", item("Odd garbage", date="1e30"))
    c.feed("feed-c0-char-refs", item("Ctl &#1;&#27;[31m title", desc="&#0;&#7; text"))
    c.feed("feed-raw-c0", item("Raw \x01\x1b[31m title"))
    c.feed("feed-lone-surrogate-ref", item("Sur &#xD800; title", link="https://news.example/&#xDC00;"))
    c.feed("feed-link-uppercase", item("Upper link", link="HTTP://NEWS.EXAMPLE/UPPER"))
    c.feed("feed-link-javascript", item("JS link", link="javascript:alert(1)"))
    c.feed("feed-repeated-guid", item("Rep one", guid="same") + item("Rep two", guid="same", desc="Other text."))
    c.feed("feed-deep-nesting", item("Deep", desc="<x>" * 50_000 + "</x>" * 50_000))
    c.feed("feed-deep-html-in-cdata", item("Deep html", desc="<![CDATA[" + "<div>" * 100_000 + "t" + "</div>" * 100_000 + "]]>"))
    c.feed("feed-comment-flood", item("Comments", desc="<![CDATA[" + "<!--" * 300_000 + "]]>"))
    c.feed("feed-tag-flood", item("Tags", desc="&lt;a " * 300_000))
    c.feed("feed-huge-title", item("T" * 3_000_000))
    c.feed("feed-truncated-item", "<item><title>Cut off", note="unclosed item in the middle")
    c.feed("feed-atom-extreme-dates", item("Atom-ish") + "<item><title>Upd</title><guid>u</guid>"
           "<description>d</description><dc:date xmlns:dc='http://purl.org/dc/elements/1.1/'>"
           "0001-01-01T00:00:00+14:00</dc:date></item>")
    # Atom with extreme updated
    d = c.dir("atom-extreme-dates")
    before, after = c.item("atom-extreme-dates", "before"), c.item("atom-extreme-dates", "after")

    def entry(it_id: str, title: str, when: str, text: str) -> str:
        return (f"<entry><id>urn:{it_id}</id><title>{title}</title><link href='https://news.example/{it_id}'/>"
                f"<updated>{when}</updated><content type='text'>{text}</content></entry>")

    atom = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>A</title>"
            "<id>urn:a</id><updated>2026-03-10T08:00:00Z</updated>"
            + entry(before["id"], before["title"], "2026-03-10T08:00:00Z", before["text"])
            + entry("x1", "Late", "9999-12-31T23:59:59-14:00", "late") + entry("x2", "Early", "0001-01-01T00:00:00+14:00", "early")
            + entry(after["id"], after["title"], "2026-03-10T08:00:00Z", after["text"]) + "</feed>")
    (d / "feed.atom").write_text(atom, encoding="utf-8")
    c.add("atom-extreme-dates", "feed", [d / "feed.atom"], [before["title"], after["title"]])
    c.whole("feed-not-xml", "page.xml", lambda p: p.write_text("<html><body>not a feed</body></html>"))
    c.whole("feed-sparse-3gib", "big.xml", lambda p: _sparse(p, 3 << 30, b"<?xml version='1.0'?><rss>"))
    c.whole("feed-utf16", "feed16.xml", lambda p: p.write_bytes(
        ("<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel><title>U16</title>"
         "<item><title>Utf16 item</title><link>https://news.example/u16</link><description>t</description></item>"
         "</channel></rss>").encode("utf-16")))


def _opml_cases(c: Corpus) -> None:
    c.whole("opml-deep-nesting", "deep.opml", lambda p: p.write_text(
        "<opml version='2.0'><body>" + "<outline text='x'>" * 100_000 + "</outline>" * 100_000 + "</body></opml>"))
    c.whole("opml-billion-laughs", "laughs.opml", lambda p: p.write_text(
        '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<opml><body><outline text='&b;' xmlUrl='https://e.example/f'/></body></opml>"))
    c.whole("opml-bad-urls", "bad.opml", lambda p: p.write_text(
        "<opml><body><outline text='f' xmlUrl='file:///etc/passwd'/><outline text='j' xmlUrl='javascript:x'/>"
        "<outline text='n' xmlUrl='not-a-url'/></body></opml>"))
    c.whole("opml-not-xml", "broken.opml", lambda p: p.write_text("<opml><body><outline"))
    c.whole("opml-sparse-big", "big.opml", lambda p: _sparse(p, 1 << 30, b"<opml>"))


def _html_cases(c: Corpus) -> None:
    c.whole("html-deep-nesting", "deep.html", lambda p: p.write_text(
        "<html><body>" + "<div>" * 200_000 + "deep text" + "</div>" * 200_000 + "</body></html>"))
    c.whole("html-control-chars", "ctl.html", lambda p: p.write_text(
        page_html({"title": "Ctl \x1b[31m\x07 page", "text": "Bell \x07 and \x00 nul and escape \x1b]0;t\x07 text."})))
    c.whole("html-extreme-date", "date.html", lambda p: p.write_text(page_html(
        {"title": "Dated page", "text": "A page with an impossible date in its metadata."},
        '<meta property="article:published_time" content="9999-12-31T23:59:59-14:00">')))
    c.whole("html-sparse-3gib", "big.html", lambda p: _sparse(p, 3 << 30, b"<html>"))
    c.whole("html-gzip-bomb", "bomb.html.gz", _gzip_bomb)
    c.whole("html-is-png", "image.html", lambda p: p.write_bytes(_PNG))
    c.whole("html-empty", "empty.html", lambda p: p.write_bytes(b""))
    c.whole("html-comment-flood", "comments.html", lambda p: p.write_text("<html><body>" + "<!--" * 300_000 + "</body></html>"))


def _warc_cases(c: Corpus) -> None:
    junk = {"id": "junk", "title": "Junk", "text": "Junk page."}
    c.warc("warc-content-length-1e23", warc_record(junk, length="1" + "0" * 23))
    c.warc("warc-content-length-negative", warc_record(junk, length="-500"))
    c.warc("warc-content-length-text", warc_record(junk, length="lots"))
    c.warc("warc-content-length-short", warc_record(junk, length="10"))
    c.warc("warc-garbage-between", b"\x00garbage bytes that are not a record\r\n" * 100)
    c.warc("warc-date-9999", warc_record(junk, date="9999-12-31T23:59:59-14:00"))
    c.warc("warc-control-chars", warc_record({"id": "c", "title": "Ctl \x1b[31m", "text": "Bell \x07 text of a page."}))
    c.warc("warc-uri-uppercase", warc_record(junk, uri="HTTP://NEWS.EXAMPLE/JUNK"))
    c.warc("warc-uri-surrogate-bytes", warc_record(junk, uri="https://news.example/\udcff".encode("utf-8", "surrogateescape").decode("latin-1")))


def _binary_and_special_cases(c: Corpus) -> None:
    ls = Path("/bin/ls")
    c.whole("binary-bin-ls", "ls", extra_args=[str(ls)] if ls.exists() else [])
    c.whole("binary-ls-copy-txt", "ls.txt", lambda p: p.write_bytes(ls.read_bytes() if ls.exists() else b"\x7fELF" + bytes(4096)))
    c.whole("binary-random-10mb", "random.bin", lambda p: p.write_bytes(random.Random(1).randbytes(10_000_000)))
    c.whole("binary-random-jsonl", "random.jsonl", lambda p: p.write_bytes(random.Random(2).randbytes(200_000)))
    c.whole("binary-random-no-nul", "noisy.txt", lambda p: p.write_bytes(
        bytes(b for b in random.Random(3).randbytes(300_000) if b)))
    c.whole("binary-png-as-jsonl", "image.jsonl", lambda p: p.write_bytes(_PNG))
    c.whole("binary-gzip-as-txt", "data.txt", lambda p: p.write_bytes(gzip.compress(b"hello " * 1000)))
    c.whole("binary-pdf-as-txt", "doc.txt", lambda p: p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 50))
    c.whole("binary-zip-as-csv", "sheet.csv", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(random.Random(4).randbytes(4000))))
    c.whole("binary-sqlite-as-json", "db.json", lambda p: p.write_bytes(b"SQLite format 3\x00" + bytes(4000)))
    c.whole("binary-nul-in-jsonl", "nul.jsonl", lambda p: p.write_bytes(
        b'{"title": "Before nul", "text": "x"}\n\x00\x00\x00\n{"title": "After nul", "text": "y"}\n'))
    c.whole("binary-utf16-no-bom", "u16.txt", lambda p: p.write_bytes("Plain words in UTF-16.\n".encode("utf-16-le")))
    c.whole("text-utf16-bom", "u16bom.txt", lambda p: p.write_bytes("A headline in UTF-16 with a BOM\n".encode("utf-16")))
    c.whole("text-cp1252", "legacy.txt", lambda p: p.write_bytes("Caf\u00e9 \u201cquoted\u201d news line.\n".encode("cp1252")))
    c.whole("empty-jsonl", "empty.jsonl", lambda p: p.write_bytes(b""))
    c.whole("empty-txt-whitespace", "blank.txt", lambda p: p.write_bytes(b"\n  \n\t\n"))
    c.whole("empty-bom-only", "bom.txt", lambda p: p.write_bytes(b"\xef\xbb\xbf"))
    c.whole("special-fifo", "pipe.jsonl", _fifo)
    c.whole("special-dev-zero-symlink", "zero.txt", lambda p: p.symlink_to("/dev/zero"))
    c.whole("special-dev-zero-path", "unused", extra_args=["/dev/zero"])
    c.whole("special-dev-urandom-jsonl", "urandom.jsonl", lambda p: p.symlink_to("/dev/urandom"))
    c.whole("special-sparse-3gib-txt", "big.txt", lambda p: _sparse(p, 3 << 30, b"start "))
    c.whole("special-sparse-3gib-jsonl", "big.jsonl", lambda p: _sparse(p, 3 << 30, b'{"title": "x"}\n'))
    c.whole("special-directory-named-txt", "dir.txt", lambda p: p.mkdir())
    c.whole("special-missing-file", "missing.jsonl")
    c.whole("special-dangling-symlink", "dangling.txt", lambda p: p.symlink_to("/nonexistent/target"))
    # a folder holding valid files, a symlink out of it, a symlink loop and a link to /etc
    name = "folder-symlinks-out"
    d = c.dir(name) / "inbox"
    d.mkdir(exist_ok=True)
    before, after = c.item(name, "before"), c.item(name, "after")
    (d / "a.jsonl").write_text(json.dumps(before) + "\n", encoding="utf-8")
    (d / "z.jsonl").write_text(json.dumps(after) + "\n", encoding="utf-8")
    outside = c.dir(name) / "outside.txt"
    outside.write_text("Secret outside line that must not be read\n", encoding="utf-8")
    for link, target in (("passwd.txt", "/etc/passwd"), ("outside.txt", str(outside)), ("etc", "/etc"),
                         ("loop", str(d)), ("zero.jsonl", "/dev/zero")):
        if not (d / link).is_symlink():
            (d / link).symlink_to(target)
    c.add(name, "folder", [d], [before["title"], after["title"]], "symlinks out of the folder must not be followed")


_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


def _sparse(path: Path, size: int, head: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)


def _gzip_bomb(path: Path) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        gz.write(b"<html><body>")
        block = b"\x00" * 1_000_000
        for _ in range(200):
            gz.write(block)
    path.write_bytes(buf.getvalue())


def _fifo(path: Path) -> None:
    if path.exists() or path.is_symlink():
        return
    os.mkfifo(path)
    assert stat.S_ISFIFO(os.stat(path).st_mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--small", action="store_true", help="12 MB instead of 100 MB for the huge-line case")
    args = parser.parse_args(argv)
    cases = build(args.out, small=args.small)
    print(f"{len(cases)} cases written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
