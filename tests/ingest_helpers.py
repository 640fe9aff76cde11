"""Shared helpers of the ingest tests: the shared data folder and a real HTTP server on
loopback that serves files and scripted responses (ETag/304, redirects, errors, slow and
truncated bodies)."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storyline.config import Settings
from storyline.models import Article, FeedState

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared test data not found at {DATA} (see ../shared/data/README.md)")


def data_path(*parts: str) -> Path:
    """A path under the shared data folder; skips the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return path


def loopback_settings(tmp_path: Path | None = None, **changes: object) -> Settings:
    """Settings for loopback tests: private network allowed, no politeness delay, short timeout."""
    base = Settings(data_dir=tmp_path or Path("/nonexistent"), allow_private_network=True, per_host_delay=0.0,
                    fetch_timeout=2.0)
    return base.with_(**changes)


@dataclass
class Route:
    """A scripted response. ``body`` may be a callable of the request handler."""

    status: int = 200
    body: bytes | Callable[["Handler"], bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""  # when set: ETag header, and 304 on a matching If-None-Match
    last_modified: str = ""  # when set: Last-Modified header, and 304 on equal If-Modified-Since
    delay: float = 0.0  # seconds before the body
    drip: float = 0.0  # seconds between each 10-byte piece of the body
    truncate_to: int | None = None  # send Content-Length of the full body, then only this many bytes
    gzip: bool = False


class Handler(BaseHTTPRequestHandler):
    server: "LoopbackServer._Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence
        pass

    def do_GET(self) -> None:  # noqa: N802
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.requests.append((path, dict(self.headers.items()), time.monotonic()))
        route = owner.routes.get(path) or owner.file_route(path)
        if route is None:
            self._send(404, b"not found", {"Content-Type": "text/plain"})
            return
        body = route.body(self) if callable(route.body) else route.body
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified):
            self._send(304, b"", headers)
            return
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.delay:
            time.sleep(route.delay)
        self._send(route.status, body, headers, truncate_to=route.truncate_to, drip=route.drip)

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, truncate_to: int | None = None,
              drip: float = 0.0) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if truncate_to is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        payload = body if truncate_to is None else body[:truncate_to]
        try:
            if drip:
                for i in range(0, len(payload), 10):
                    self.wfile.write(payload[i:i + 10])
                    self.wfile.flush()
                    time.sleep(drip)
            else:
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if truncate_to is not None:
            self.close_connection = True


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1; ``routes`` maps paths to :class:`Route`s and
    ``/data/<path>`` serves files of the shared data folder (with an ETag)."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        owner: "LoopbackServer"

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # clients that gave up (timeouts, caps) are expected here

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self._server = self._Server(("127.0.0.1", 0), Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def file_route(self, path: str) -> Route | None:
        if not path.startswith("/data/"):
            return None
        target = (DATA / path[len("/data/"):]).resolve()
        if DATA.resolve() not in target.parents or not target.is_file():
            return None
        content = target.read_bytes()
        return Route(body=content, etag='"' + hashlib.sha1(content).hexdigest()[:16] + '"',
                     headers={"Content-Type": "application/xml"})

    def hits(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class MemoryStore:
    """In-memory test double of :class:`storyline.ingest.watch.FeedStore`."""

    def __init__(self) -> None:
        self.feeds: dict[str, FeedState] = {}
        self.articles: dict[str, Article] = {}

    def get_feed(self, url: str) -> FeedState | None:
        return self.feeds.get(url)

    def save_feed(self, state: FeedState) -> None:
        self.feeds[state.url] = state

    def list_feeds(self) -> list[FeedState]:
        return list(self.feeds.values())

    def add_articles(self, articles) -> int:  # type: ignore[no-untyped-def]
        new = 0
        for article in articles:
            if article.id not in self.articles:
                self.articles[article.id] = article
                new += 1
        return new


# ---------------------------------------------------------------- extraction scoring

def news_pages() -> list[dict]:
    """The annotated pages of html/trafilatura-news: expectation rows plus ``html`` bytes."""
    folder = DATA / "html" / "trafilatura-news"
    rows = []
    for line in (folder / "expectations.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row["html"] = gzip.decompress((folder / "html" / (row["file"] + ".gz")).read_bytes())
            rows.append(row)
    return rows


def score_extraction(rows: list[dict], extract: Callable[[bytes, str], tuple[str, str, str]]) -> dict[str, float]:
    """trafilatura's evaluation protocol: a must-appear snippet found in the text is a true
    positive (missing: false negative); a must-not-appear snippet found is a false positive.
    ``extract(html, url) -> (text, title, date)``; title accuracy is exact match after
    whitespace normalisation, date accuracy compares the YYYY-MM-DD day."""
    from storyline.text import clean_text  # same normalisation (quotes, spaces) on both sides

    tp = fp = fn = 0
    titles = title_hits = dates = date_hits = 0
    start = time.perf_counter()
    for row in rows:
        text, title, date = extract(row["html"], row["url"])
        text = " ".join(clean_text(text).split())
        for snippet in row["with"]:
            if " ".join(clean_text(snippet).split()) in text:
                tp += 1
            else:
                fn += 1
        fp += sum(1 for snippet in row["without"] if " ".join(clean_text(snippet).split()) in text)
        if row.get("title"):
            titles += 1
            title_hits += " ".join(clean_text(title).split()) == " ".join(clean_text(row["title"]).split())
        if row.get("date"):
            dates += 1
            date_hits += (date or "")[:10] == row["date"][:10]
    seconds = time.perf_counter() - start
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {
        "pages": len(rows),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4),
        "title_accuracy": round(title_hits / max(1, titles), 4),
        "date_accuracy": round(date_hits / max(1, dates), 4),
        "pages_per_second": round(len(rows) / max(seconds, 1e-9), 1),
    }


def storyline_extract(html: bytes, url: str) -> tuple[str, str, str]:
    """Our extraction as the scorer wants it."""
    from storyline.errors import InputError
    from storyline.ingest.pages import extract_article

    try:
        article = extract_article(html, url=url)
    except InputError:
        return "", "", ""
    return article.text, article.title, article.published.date().isoformat() if article.published else ""


def trafilatura_extract(html: bytes, url: str) -> tuple[str, str, str]:
    """trafilatura alone, default settings, comments excluded (its evaluation setting)."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if doc is None:
        return "", "", ""
    return doc.text or "", doc.title or "", doc.date or ""


def ngram_f1(candidate: str, reference: str, n: int = 4) -> float:
    """Token n-gram F1 (multiset overlap) of two texts, whitespace tokens, case kept."""
    from collections import Counter

    def grams(text: str) -> Counter:
        tokens = text.split()
        return Counter(tuple(tokens[i:i + n]) for i in range(max(0, len(tokens) - n + 1)))

    cand, ref = grams(candidate), grams(reference)
    if not cand and not ref:
        return 1.0
    overlap = sum((cand & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(cand.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------- WARC writing


def page_url(row: dict) -> str:
    """The page's URL; a few pages of the corpus carry a placeholder (``hard::name``), which
    gets an http URL here so the record is an HTTP response like any crawled page."""
    return row["url"] if row["url"].startswith("http") else f"https://pages.invalid/{row['file']}"


def write_warc(path: Path, pages: list[tuple[str, bytes]], *, gzip: bool = True) -> None:
    """A CC-News-style WARC: a warcinfo, then a response record per page (and a few images)."""
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "storyline tests"}))
        for i, (url, html) in enumerate(pages):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            date = datetime(2024, 5, 1, 12, i % 60, tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=http,
                                               warc_headers_dict={"WARC-Date": date})
            writer.write_record(record)
            if i % 10 == 0:  # a non-HTML response among the pages
                image = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(url + ".png", "response", payload=io.BytesIO(b"\x89PNG"),
                                                              http_headers=image))
