"""OPML feed lists -> feed URLs (+ titles), parsed with defusedxml (no DTD entities, no
external references)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import IngestError, InputError
from ..models import Article
from .base import ReadReport
from .boundary import checked_url, clean_string
from .inputs import SNIFF_BYTES, binary_reason, read_capped


MAX_OPML_BYTES = 5_000_000
log = logging.getLogger("storyline.ingest")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription of an OPML file; ``category`` is the path of enclosing outline titles."""

    url: str
    title: str = ""
    html_url: str = ""
    category: str = ""


MAX_OPML_DEPTH = 50
MAX_OPML_FEEDS = 100_000


def _walk(body: Element, out: list[OpmlFeed], seen: set[str]) -> None:
    """Feeds of the outline tree in document order, iteratively (no recursion to exhaust);
    outlines deeper than :data:`MAX_OPML_DEPTH` folders are not read."""
    stack: list[tuple[Iterator[Element], tuple[str, ...]]] = [(iter(body.findall("outline")), ())]
    while stack and len(out) < MAX_OPML_FEEDS:
        children, path = stack[-1]
        outline = next(children, None)
        if outline is None:
            stack.pop()
            continue
        title = _attr(outline, "title") or _attr(outline, "text")
        url = _attr(outline, "xmlUrl") or _attr(outline, "xmlurl") or _attr(outline, "url")
        if url and outline.get("type", "rss").lower() in ("rss", "atom", "feed", "rdf", "json", "link", ""):
            url, problem = checked_url(url)
            if url and not url.startswith(("http://", "https://")):
                url, problem = "", f"feed address {url[:80]!r} is not an absolute http(s) URL; skipped"
            if problem:
                log.warning("OPML outline %r: %s", title[:60], problem)
            if url and url not in seen:
                seen.add(url)
                out.append(OpmlFeed(url=url, title=title, html_url=_attr(outline, "htmlUrl"), category="/".join(path)))
        if len(stack) < MAX_OPML_DEPTH:
            stack.append((iter(outline.findall("outline")), path + ((title,) if title and not url else ())))
        elif outline.find("outline") is not None:
            log.warning("OPML outline %r is nested more than %d levels deep; its children are not read",
                        title[:60], MAX_OPML_DEPTH)


def _attr(outline: Element, name: str) -> str:
    return clean_string(outline.get(name) or "", single_line=True).strip()


def parse_opml(data: bytes, *, origin: str = "OPML") -> list[OpmlFeed]:
    """The feeds an OPML document lists, in document order, each URL once.

    Raises:
        IngestError: too large, not well-formed, declares entities, or is not OPML.
    """
    if len(data) > MAX_OPML_BYTES:
        raise IngestError(origin, f"OPML file is {len(data):,} bytes, more than the {MAX_OPML_BYTES:,}-byte cap")
    reason = binary_reason(data[:SNIFF_BYTES])
    if reason:
        raise IngestError(origin, f"not an OPML file: {reason}; refused")
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except RecursionError as exc:
        raise IngestError(origin, "OPML nested too deeply to read") from exc
    except DefusedXmlException as exc:
        raise IngestError(origin, f"OPML declares XML entities or external references ({exc}); refused") from exc
    except ParseError as exc:
        raise IngestError(origin, f"not well-formed XML ({exc})") from exc
    if root.tag.lower() != "opml":
        raise IngestError(origin, f"not an OPML document (root element <{root.tag}>)")
    body = root.find("body")
    feeds: list[OpmlFeed] = []
    if body is not None:
        _walk(body, feeds, set())
    return feeds


def read_opml(path: Path) -> list[OpmlFeed]:
    """:func:`parse_opml` of a file.

    Raises:
        IngestError: unreadable or invalid file.
    """
    try:
        data = read_capped(path, MAX_OPML_BYTES, what="OPML file")
    except InputError as exc:
        raise IngestError(exc.where, exc.reason) from exc
    return parse_opml(data, origin=str(path))


def read_opml_file(path: Path, report: ReadReport) -> Iterator[Article]:
    """Reader for ``.opml`` among local files: yields no articles (the feeds it lists are not
    fetched when reading files); logs how many feeds it lists, reports an invalid file."""
    try:
        feeds = read_opml(path)
    except IngestError as exc:
        report.error(exc.where, exc.reason)
        return
    log.warning("%s: OPML lists %d feed(s); not fetched when reading files — run "
                "`storyline ingest %s` to fetch them", path, len(feeds), path)
    yield from ()


__all__ = ["OpmlFeed", "parse_opml", "read_opml", "read_opml_file"]
