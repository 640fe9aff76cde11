"""Feeds -> Article: RSS 0.9x/1.0/2.0, Atom, RDF (feedparser) and JSON Feed (json).

XML is parsed safely. Before feedparser sees a document, :func:`neutralize_doctype` rewrites
its DOCTYPE: parameter entities, external entities and entities whose value refers to other
entities (the "billion laughs" pattern) are dropped, and so are all entities when their
expansion could exceed :data:`MAX_ENTITY_EXPANSION` characters (the quadratic blow-up). External
DTDs are never fetched (feedparser turns off external entities; expat >= 2.4 also limits
amplification). Documents larger than the cap given are refused before parsing.

A feed that is not well-formed but still yields entries is read, with a warning; a feed that
yields nothing and is not well-formed raises :class:`~storyline.errors.IngestError`.
"""
from __future__ import annotations

import codecs
import calendar
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import feedparser
import lxml.etree
import lxml.html

from ..errors import IngestError
from ..models import Article
from ..text import clean_text
from .dates import parse_date

if TYPE_CHECKING:
    from .files import ReadReport

MAX_FEED_BYTES = 10_000_000
MAX_ENTITY_EXPANSION = 100_000  # characters all entity references together may expand to
_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article header footer "
    "figure figcaption dd dt dl hr".split()
)
_DROP_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "template")
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(%\s+)?([^\s>]+)\s+(.*?)>", re.S)
_MARKUP = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?|/[a-zA-Z][a-zA-Z0-9]*\s*|!--.*?--)>", re.S)
_SIMPLE_VALUE = re.compile(r"""^(?:"([^"&%<]*|&#\w+;)"|'([^'&%<]*|&#\w+;)')\s*$""", re.S)


@dataclass(slots=True)
class ParsedFeed:
    """A feed read into articles, with what was odd about it.

    ``warnings`` hold one line per tolerated problem (not well-formed XML, entities dropped);
    ``raw`` is feedparser's result for XML feeds (``None`` for JSON Feed).
    """

    origin: str
    title: str = ""
    link: str = ""
    language: str = ""
    version: str = ""
    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bozo: bool = False
    raw: Any = None


# ---------------------------------------------------------------- XML safety

def _codec_of(data: bytes) -> str:
    """Codec under which the markup of ``data`` is readable character by character."""
    boms = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
    for bom, name in boms:
        if data.startswith(bom):
            return name
    head = data[:4]
    patterns = {b"\x00\x00\x00<": "utf-32-be", b"<\x00\x00\x00": "utf-32-le",
                b"\x00<\x00?": "utf-16-be", b"<\x00?\x00": "utf-16-le"}
    return patterns.get(head, "latin-1")


def _doctype_span(text: str) -> tuple[int, int] | None:
    """Start and end of the DOCTYPE declaration in the prolog, quotes and comments respected."""
    i = 0
    while i < len(text):  # skip the XML declaration, PIs, comments, whitespace
        if text[i] in " \t\r\n\ufeff":
            i += 1
        elif text.startswith("<?", i):
            end = text.find("?>", i + 2)
            i = len(text) if end < 0 else end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = len(text) if end < 0 else end + 3
        else:
            break
    if text[i: i + 9].upper() != "<!DOCTYPE":
        return None
    start = i
    i, depth, quote = i + 9, 0, ""
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = len(text) if end < 0 else end + 3
            continue
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth <= 0:
            return start, i + 1
        i += 1
    return start, len(text)


def neutralize_doctype(data: bytes) -> tuple[bytes, list[str]]:
    """Rewrite the DOCTYPE of an XML document so that parsing it cannot expand entities
    beyond a few simple text replacements.

    Returns:
        The (possibly) rewritten bytes, in the document's own encoding, and one warning per
        kind of declaration that was dropped.
    """
    codec = _codec_of(data)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return data, []
    span = _doctype_span(text)
    if span is None:
        return data, []
    start, end = span
    doctype = text[start:end]
    root = re.match(r"<!DOCTYPE\s+([^\s\[>]+)", doctype, re.I)
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for decl in _ENTITY_DECL.finditer(doctype):
        parameter, name, body = decl.group(1), decl.group(2), decl.group(3)
        simple = _SIMPLE_VALUE.match(body)
        if parameter:
            dropped.append(f"parameter entity %{name}")
        elif not simple:
            dropped.append(f"entity {name} (external or referring to other entities)")
        else:
            kept[name] = simple.group(1) if simple.group(1) is not None else simple.group(2)
    body_text = text[end:]
    expansion = sum(len(v) * body_text.count(f"&{k};") for k, v in kept.items())
    if expansion > MAX_ENTITY_EXPANSION:
        dropped.append(f"all {len(kept)} entities (they would expand to {expansion:,} characters)")
        kept = {}
    warnings = [f"XML DOCTYPE declared {', '.join(dropped)}; dropped, not expanded"] if dropped else []
    if not dropped and "[" not in doctype:
        return data, []
    name = root.group(1) if root else "feed"
    subset = "".join(f'\n<!ENTITY {k} "{v}">' for k, v in kept.items())  # one per line, as feedparser expects
    replacement = f"<!DOCTYPE {name} [{subset}\n]>" if subset else f"<!DOCTYPE {name}>"
    try:
        return (text[:start] + replacement + text[end:]).encode(codec), warnings
    except UnicodeEncodeError:
        return data, warnings


# ---------------------------------------------------------------- text helpers

def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags removed, scripts and styles dropped, block
    elements on their own lines, entities decoded, whitespace cleaned."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        return clean_text(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return clean_text(fragment, strip_tags=True)
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n" + (element.text or "")
    return clean_text(root.text_content())


def stable_id(*parts: str) -> str:
    """A 20-hex-digit id that depends only on ``parts`` (feed + entry, or archive + record)."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


# ---------------------------------------------------------------- XML feeds

def _entry_text(entry: Mapping[str, Any]) -> str:
    candidates: list[tuple[str, str]] = []
    for content in entry.get("content") or []:
        candidates.append((content.get("value", ""), content.get("type", "text/html")))
    detail = entry.get("summary_detail") or {}
    if entry.get("summary"):
        candidates.append((entry["summary"], detail.get("type", "text/html")))
    best = ""
    for value, kind in candidates:
        text = clean_text(value) if kind == "text/plain" and not _MARKUP.search(value) else strip_markup(value)
        if len(text) > len(best):
            best = text
    return best


def strip_markup(value: str) -> str:
    """:func:`html_to_text`, repeated while the result still holds markup (feeds that escape
    their HTML twice, e.g. Reddit and Blogger)."""
    text = html_to_text(value)
    for _ in range(2):
        if not _MARKUP.search(text):
            break
        text = html_to_text(text)
    return text


def _entry_author(entry: Mapping[str, Any]) -> str:
    author = entry.get("author") or ""
    if not author:
        names = [a.get("name", "") for a in entry.get("authors") or [] if isinstance(a, Mapping)]
        author = ", ".join(n for n in names if n)
    return html_to_text(author)


def _xml_article(entry: Mapping[str, Any], feed: ParsedFeed, key: str, index: int, seen: set[str]) -> Article | None:
    link = str(entry.get("link") or "").strip()
    title = strip_markup(str(entry.get("title") or ""))
    text = _entry_text(entry)
    if not title and not text and not link.startswith(("http://", "https://")):
        return None
    entry_key = str(entry.get("id") or link or f"{title}|{entry.get('published', '')}|{index}")
    if entry_key in seen:  # feeds that give several entries one guid (e.g. the home page)
        entry_key = f"{entry_key}|{title}|{entry.get('published', '')}|{text[:200]}"
    seen.add(entry_key)
    plain = dict(entry)  # feedparser's dict maps updated->published with a DeprecationWarning; read raw keys
    published = (_struct_to_datetime(plain.get("published_parsed")) or _struct_to_datetime(plain.get("updated_parsed"))
                 or parse_date(plain.get("published") or plain.get("updated")))
    language = ""
    for content in entry.get("content") or []:
        language = language or content.get("language") or ""
    language = language or (entry.get("title_detail") or {}).get("language") or feed.language
    return Article(id=stable_id(key, entry_key), title=title, text=text, url=link, source=feed.title,
                   published=published, language=_short_language(language), origin=feed.origin,
                   author=_entry_author(entry))


def _short_language(value: str | None) -> str:
    return (value or "").strip().replace("_", "-").split("-", 1)[0].lower()[:8]


def _parse_xml(data: bytes, origin: str, key: str, headers: Mapping[str, str] | None) -> ParsedFeed:
    safe, warnings = neutralize_doctype(data)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if origin.startswith(("http://", "https://")):  # feedparser resolves relative links against it
        location = urljoin(origin, response_headers.get("content-location", "").strip())
        response_headers["content-location"] = location if location.startswith(("http://", "https://")) else origin
    raw = feedparser.parse(io.BytesIO(safe), response_headers=response_headers, sanitize_html=True)
    meta = raw.get("feed", {})
    feed = ParsedFeed(origin=origin, title=html_to_text(str(meta.get("title") or "")), link=str(meta.get("link") or ""),
                      language=_short_language(meta.get("language")), version=str(raw.get("version") or ""),
                      warnings=warnings, bozo=bool(raw.get("bozo")), raw=raw)
    skipped, seen = 0, set[str]()
    for index, entry in enumerate(raw.get("entries") or []):
        article = _xml_article(entry, feed, key, index, seen)
        if article is None:
            skipped += 1
        else:
            feed.articles.append(article)
    if skipped:
        feed.warnings.append(f"{skipped} entr{'y has' if skipped == 1 else 'ies have'} no title, text or link; skipped")
    exc = raw.get("bozo_exception")
    reason = f"{type(exc).__name__}: {exc}" if exc else "unknown problem"
    if feed.bozo and not raw.get("entries"):
        raise IngestError(origin, f"not a readable feed ({reason}); nothing read")
    if feed.bozo:
        feed.warnings.append(f"feed is not well-formed ({reason}); {len(feed.articles)} entries read anyway")
    elif not feed.version and not raw.get("entries"):
        raise IngestError(origin, "not a feed: no RSS, Atom or RDF root element found")
    return feed


# ---------------------------------------------------------------- JSON Feed

def looks_like_json_feed(data: bytes) -> bool:
    """Whether ``data`` starts like a JSON Feed document (an object naming jsonfeed.org)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org" in head


def _parse_json(data: bytes, origin: str, key: str) -> ParsedFeed:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(origin, f"not a readable JSON Feed ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        raise IngestError(origin, "not a JSON Feed: expected an object with an 'items' list")
    feed = ParsedFeed(origin=origin, title=clean_text(str(doc.get("title") or "")), link=str(doc.get("home_page_url") or ""),
                      language=_short_language(doc.get("language")), version=str(doc.get("version") or "json"))
    for index, item in enumerate(doc.get("items") or []):
        if not isinstance(item, dict):
            feed.warnings.append(f"item {index} is not an object; skipped")
            continue
        title = html_to_text(str(item.get("title") or ""))
        text = html_to_text(str(item.get("content_html") or "")) or clean_text(str(item.get("content_text") or "")) \
            or html_to_text(str(item.get("summary") or ""))
        link = str(item.get("url") or item.get("external_url") or "")
        if not title and not text and not link:
            feed.warnings.append(f"item {index} has no title, text or url; skipped")
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = ", ".join(str(a.get("name", "")) for a in authors if isinstance(a, dict) and a.get("name"))
        feed.articles.append(Article(
            id=stable_id(key, str(item.get("id") or link or f"{title}|{index}")), title=title, text=text, url=link,
            source=feed.title, published=parse_date(item.get("date_published") or item.get("date_modified")),
            language=_short_language(item.get("language")) or feed.language, origin=origin, author=author))
    return feed


# ---------------------------------------------------------------- entry points

def parse_feed(data: bytes, *, origin: str, headers: Mapping[str, str] | None = None, key: str = "",
               max_bytes: int = MAX_FEED_BYTES) -> ParsedFeed:
    """Parse a feed document into articles.

    Args:
        data: the document as fetched or read (any encoding; feedparser detects it, HTTP
            ``Content-Type`` in ``headers`` taken into account).
        origin: where it came from (feed URL or file path); becomes ``Article.origin`` and the
            first part of article ids unless ``key`` is given.
        headers: HTTP response headers, if fetched.
        key: what article ids are derived from (default: ``origin``).
        max_bytes: documents larger than this are refused.

    Returns:
        The :class:`ParsedFeed`; entries without title and text are skipped.

    Raises:
        IngestError: too large, not a feed, or not well-formed with no entries.
    """
    if len(data) > max_bytes:
        raise IngestError(origin, f"feed is {len(data):,} bytes, more than the {max_bytes:,}-byte cap; not parsed")
    key = key or origin
    if looks_like_json_feed(data):
        return _parse_json(data, origin, key)
    return _parse_xml(data, origin, key, headers)


def read_feed_file(path: Path, report: ReadReport) -> Iterator[Article]:
    """Reader for local feed files (``.xml .rss .atom .rdf .feed``, JSON Feed too)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.error(str(path), f"cannot read file ({exc.strerror or exc})")
        return
    try:
        feed = parse_feed(data, origin=str(path), key=str(path.resolve()))
    except IngestError as exc:
        report.error(exc.where, exc.reason)
        return
    for warning in feed.warnings:
        _log_warning(str(path), warning)
    yield from feed.articles


def _log_warning(where: str, message: str) -> None:
    import logging

    logging.getLogger("storyline.ingest").warning("%s: %s", where, message)


__all__ = ["ParsedFeed", "html_to_text", "looks_like_json_feed", "neutralize_doctype", "parse_feed",
           "read_feed_file", "stable_id"]
