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
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin
from typing import Any, Iterator, Mapping

import feedparser
import lxml.etree
import lxml.html

from ..errors import IngestError, InputError
from ..models import Article
from ..text import clean_text
from .base import ReadReport, stable_id
from .boundary import FieldTypeError, checked_date, coerce_text, loads_json, path_identity, prepare
from .dates import parse_date
from .inputs import SNIFF_BYTES, binary_reason, read_capped


MAX_FEED_BYTES = 10_000_000
MAX_ENTITY_EXPANSION = 100_000  # characters all entity references together may expand to
_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article header footer "
    "figure figcaption dd dt dl hr".split()
)
_DROP_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "template")
_ENTITY_HEAD = re.compile(r"<!ENTITY\s+(%\s+)?([^\s>]+)\s+")
_ENTITY_REF = re.compile(r"&([A-Za-z_:][\w.:-]{0,200});")
_ROOTS = re.compile(r"<(?:rss|feed|rdf:RDF|RDF|channel)[\s>]", re.I)
MAX_DOCTYPE_CHARS = 65_536
_INVALID_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]{1,8}|[0-9]{1,10});")
MAX_SANITIZED_MARKUP = 20_000  # above this many "<", feedparser's own HTML sanitizer is not run
_MARKUP = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]{0,30}(?:\s[^<>]{0,2000})?/?|/[a-zA-Z][a-zA-Z0-9]{0,30}\s{0,20}|!--.{0,2000}?--)>",
                     re.S)  # bounded repeats: searching a document full of "<a " or "<!--" stays linear
_SIMPLE_VALUE = re.compile(r"""^(?:"([^"&%<]*|&#\w+;)"|'([^'&%<]*|&#\w+;)')\s*$""", re.S)


@dataclass(slots=True)
class ParsedFeed:
    """A feed read into articles, with what was odd about it.

    ``warnings`` hold one line per tolerated problem (not well-formed XML, entities dropped, a
    value dropped at the boundary); ``errors`` one per entry that could not be read;
    ``raw`` is feedparser's result for XML feeds (``None`` for JSON Feed).
    """

    origin: str
    title: str = ""
    link: str = ""
    language: str = ""
    version: str = ""
    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
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
    """Start and end of the DOCTYPE declaration in the prolog, quotes and comments respected
    (end -1: it never closes)."""
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
    return start, -1  # never closes


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
    dropped: list[str] = []
    unclosed = end < 0
    end = len(text) if unclosed else end
    if unclosed or end - start > MAX_DOCTYPE_CHARS:
        root_at = _ROOTS.search(text, start + 9)
        if unclosed and root_at is not None:
            end = root_at.start()
        what = "never closes" if unclosed else f"is {end - start:,} characters long"
        warning = f"XML DOCTYPE {what}; dropped whole, no entity expanded"
        name_match = re.match(r"<!DOCTYPE\s+([^\s\[>]{1,100})", text[start: start + 200], re.I)
        replacement = f"<!DOCTYPE {name_match.group(1) if name_match else 'feed'}>"
        try:
            return (text[:start] + replacement + text[end:]).encode(codec), [warning]
        except UnicodeEncodeError:
            return data, [warning]
    doctype = text[start:end]
    root = re.match(r"<!DOCTYPE\s+([^\s\[>]+)", doctype, re.I)
    kept: dict[str, str] = {}
    for parameter, name, body in _entity_declarations(doctype):
        simple = _SIMPLE_VALUE.match(body)
        if parameter:
            dropped.append(f"parameter entity %{name}")
        elif not simple:
            dropped.append(f"entity {name} (external or referring to other entities)")
        else:
            kept[name] = simple.group(1) if simple.group(1) is not None else simple.group(2)
    if len(dropped) > 5:
        dropped = dropped[:5] + [f"{len(dropped) - 5} more"]
    references = Counter(m.group(1) for m in _ENTITY_REF.finditer(text, end)) if kept else Counter()
    expansion = sum(len(v) * references[k] for k, v in kept.items())
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


def _keep_valid_char_ref(match: re.Match[bytes]) -> bytes:
    """A character reference XML allows, as it is; one to a control character, a surrogate or a
    non-character (``&#0;``, ``&#xD800;``), which would fail the whole document, dropped."""
    ref = match.group(1)
    try:
        code = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
    except ValueError:
        return b""
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
    return match.group(0) if allowed else b""


def _entity_declarations(doctype: str) -> Iterator[tuple[str, str, str]]:
    """``(parameter marker, name, body)`` of each ``<!ENTITY ...>`` in a DOCTYPE, in one linear
    pass (a declaration without its ``>`` ends the scan)."""
    position = 0
    while True:
        at = doctype.find("<!ENTITY", position)
        if at < 0:
            return
        close = doctype.find(">", at)
        if close < 0:
            return
        head = _ENTITY_HEAD.match(doctype, at, close)
        if head is not None:
            yield head.group(1) or "", head.group(2), doctype[head.end(): close]
        position = close + 1


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
    if not title and not text and not link.lower().startswith(("http://", "https://")):
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
    if _codec_of(safe) == "latin-1":
        safe = _INVALID_CHAR_REF.sub(_keep_valid_char_ref, safe)
    markup = safe.count(b"<") + safe.count(b"&lt;")
    careful = markup <= MAX_SANITIZED_MARKUP
    if not careful:  # feedparser's sgmllib sanitizer is quadratic on floods of "<!--" or "<a "
        warnings.append(f"feed holds {markup:,} markup characters; read without feedparser's HTML sanitizer "
                        "(storyline strips all markup from entries itself)")
    try:
        raw = feedparser.parse(io.BytesIO(safe), response_headers=response_headers, sanitize_html=careful,
                               resolve_relative_uris=careful)
    except Exception as exc:  # noqa: BLE001 - a parser failure is this feed's error, not the batch's
        raise IngestError(origin, f"not a readable feed ({type(exc).__name__}: {str(exc)[:200]}); nothing read") from exc
    entries = raw.get("entries") or []
    if raw.get("bozo"):  # not well-formed: an unclosed item may have swallowed the ones after it
        better = _recover_entries(safe, len(entries), response_headers, careful)
        if better is not None:
            entries = better.get("entries") or []
            warnings.append(f"feed is not well-formed; {len(entries)} entries recovered with lxml's recover mode")
    meta = raw.get("feed", {})
    feed = ParsedFeed(origin=origin, title=html_to_text(str(meta.get("title") or "")), link=str(meta.get("link") or ""),
                      language=_short_language(meta.get("language")), version=str(raw.get("version") or ""),
                      warnings=warnings, bozo=bool(raw.get("bozo")), raw=raw)
    skipped, seen = 0, set[str]()
    for index, entry in enumerate(entries):
        try:
            article = _xml_article(entry, feed, key, index, seen)
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: one entry never aborts a feed
            feed.errors.append(IngestError(f"{origin}#entry{index + 1}", f"entry could not be read "
                                                                        f"({type(exc).__name__}: {str(exc)[:200]}); skipped"))
            continue
        if article is None:
            skipped += 1
        else:
            feed.articles.append(article)
    if skipped:
        feed.warnings.append(f"{skipped} entr{'y has' if skipped == 1 else 'ies have'} no title, text or link; skipped")
    exc = raw.get("bozo_exception")
    reason = f"{type(exc).__name__}: {exc}" if exc else "unknown problem"
    if feed.bozo and not entries:
        raise IngestError(origin, f"not a readable feed ({reason}); nothing read")
    if feed.bozo:
        feed.warnings.append(f"feed is not well-formed ({reason}); {len(feed.articles)} entries read anyway")
    elif not feed.version and not entries:
        raise IngestError(origin, "not a feed: no RSS, Atom or RDF root element found")
    return feed


_ENTRY_TAGS = ("item", "entry")


def _recover_entries(data: bytes, found: int, headers: dict[str, str], careful: bool) -> Any:
    """feedparser's result on the document as lxml's recovering parser repairs it, with every
    item/entry moved back to the level of the first (an unclosed ``<item>`` nests the next ones
    inside it) — when that finds more entries than ``found``; else None."""
    try:
        return _recovered(data, found, headers, careful)
    except Exception:  # noqa: BLE001 - the recovery is a best effort (lxml refuses odd names, ...); the first parse stands
        return None


def _recovered(data: bytes, found: int, headers: dict[str, str], careful: bool) -> Any:
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False)
    root = lxml.etree.fromstring(data, parser)
    if root is None:
        return None
    items = [e for e in root.iter() if isinstance(e.tag, str) and e.tag.rsplit("}", 1)[-1].split(":")[-1] in _ENTRY_TAGS]
    if len(items) <= found:
        return None
    container = items[0].getparent()
    if container is None:
        return None
    for item in items[1:]:
        parent = item.getparent()
        if parent is not container and parent is not None:
            parent.remove(item)
            container.append(item)
    raw = feedparser.parse(io.BytesIO(lxml.etree.tostring(root)), response_headers=headers, sanitize_html=careful,
                           resolve_relative_uris=careful)
    return raw if len(raw.get("entries") or []) > found else None


# ---------------------------------------------------------------- JSON Feed

def looks_like_json_feed(data: bytes) -> bool:
    """Whether ``data`` starts like a JSON Feed document (an object naming jsonfeed.org)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org" in head


def _parse_json(data: bytes, origin: str, key: str) -> ParsedFeed:
    try:
        doc = loads_json(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(origin, f"not a readable JSON Feed ({exc})") from exc
    except RecursionError as exc:
        raise IngestError(origin, "not a readable JSON Feed (nested too deeply)") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise IngestError(origin, f"not a readable JSON Feed ({str(exc)[:120]})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        raise IngestError(origin, "not a JSON Feed: expected an object with an 'items' list")
    feed = ParsedFeed(origin=origin, title=clean_text(_optional(doc, "title", [])), link=_optional(doc, "home_page_url", []),
                      language=_short_language(_optional(doc, "language", [])), version=_optional(doc, "version", []) or "json")
    for index, item in enumerate(doc.get("items") or []):
        where = f"{origin}#item{index + 1}"
        if not isinstance(item, dict):
            feed.errors.append(IngestError(where, f"item is {type(item).__name__}, not an object; skipped"))
            continue
        try:
            article = _json_item(item, feed, key, index)
        except FieldTypeError as exc:
            feed.errors.append(IngestError(where, f"{exc}; item skipped"))
            continue
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: one item never aborts a feed
            feed.errors.append(IngestError(where, f"item could not be read ({type(exc).__name__}: {str(exc)[:200]}); skipped"))
            continue
        if article is None:
            feed.warnings.append(f"item {index} has no title, text or url; skipped")
        else:
            feed.articles.append(article)
    return feed


def _optional(item: Mapping[str, Any], name: str, warnings: list[str]) -> str:
    """A text field that may be dropped: ``""`` (and a warning) when it is not text."""
    try:
        return coerce_text(item.get(name), name)
    except FieldTypeError as exc:
        warnings.append(f"{exc}; field dropped")
        return ""


def _json_item(item: Mapping[str, Any], feed: ParsedFeed, key: str, index: int) -> Article | None:
    """One JSON Feed item; a title or content of the wrong type raises FieldTypeError."""
    title = html_to_text(coerce_text(item.get("title"), "title"))
    text = html_to_text(coerce_text(item.get("content_html"), "content_html")) \
        or clean_text(coerce_text(item.get("content_text"), "content_text")) \
        or html_to_text(coerce_text(item.get("summary"), "summary"))
    link = _optional(item, "url", feed.warnings) or _optional(item, "external_url", feed.warnings)
    if not title and not text and not link:
        return None
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    authors = authors if isinstance(authors, list) else []
    author = ", ".join(_optional(a, "name", feed.warnings) for a in authors if isinstance(a, dict) and a.get("name"))
    item_id = _optional(item, "id", feed.warnings)
    published, problem = checked_date(item.get("date_published") or item.get("date_modified"))
    if problem:
        feed.warnings.append(f"item {index}: {problem}")
    return Article(id=stable_id(key, item_id or link or f"{title}|{index}"), title=title, text=text, url=link,
                   source=feed.title, published=published,
                   language=_short_language(_optional(item, "language", feed.warnings)) or feed.language,
                   origin=feed.origin, author=author)


def _through_boundary(feed: ParsedFeed) -> ParsedFeed:
    """Every article of ``feed`` passed through :func:`~storyline.ingest.boundary.prepare`."""
    kept: list[Article] = []
    notes: dict[str, int] = {}
    for index, article in enumerate(feed.articles):
        try:
            prepared = prepare(article)
        except InputError as exc:
            feed.errors.append(IngestError(f"{feed.origin}#entry{index + 1}", exc.reason))
            continue
        except Exception as exc:  # noqa: BLE001 - last-resort guard per item
            feed.errors.append(IngestError(f"{feed.origin}#entry{index + 1}", f"entry could not be prepared "
                                                                              f"({type(exc).__name__}: {str(exc)[:200]}); skipped"))
            continue
        for warning in prepared.warnings:
            notes[warning] = notes.get(warning, 0) + 1
        kept.append(prepared.article)
    feed.articles = kept
    feed.warnings.extend(f"{w} ({n} entries)" if n > 1 else w for w, n in list(notes.items())[:20])
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
    reason = binary_reason(data[:SNIFF_BYTES]) if _codec_of(data) == "latin-1" else ""  # UTF-16/32 XML has NULs
    if reason:
        raise IngestError(origin, f"not a feed: {reason}; refused, nothing from it was read")
    try:
        if looks_like_json_feed(data):
            return _through_boundary(_parse_json(data, origin, key))
        return _through_boundary(_parse_xml(data, origin, key, headers))
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - the last-resort guard: a feed that breaks the parser is that feed's error
        raise IngestError(origin, f"feed could not be read ({type(exc).__name__}: {str(exc)[:200]}); nothing read") from exc


def read_feed_file(path: Path, report: ReadReport) -> Iterator[Article]:
    """Reader for local feed files (``.xml .rss .atom .rdf .feed``, JSON Feed too)."""
    try:
        data = read_capped(path, MAX_FEED_BYTES, what="feed")
        feed = parse_feed(data, origin=str(path), key=path_identity(path))
    except InputError as exc:
        report.error(exc.where, exc.reason)
        return
    for warning in feed.warnings:
        _log_warning(str(path), warning)
    for error in feed.errors:
        report.error(error.where, error.reason)
    yield from feed.articles


def _log_warning(where: str, message: str) -> None:
    import logging

    logging.getLogger("storyline.ingest").warning("%s: %s", where, message)


__all__ = ["ParsedFeed", "html_to_text", "looks_like_json_feed", "neutralize_doctype", "parse_feed",
           "read_feed_file", "stable_id"]
