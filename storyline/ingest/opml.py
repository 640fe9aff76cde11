"""OPML feed lists -> feed URLs (+ titles), parsed with defusedxml (no DTD entities, no
external references)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import IngestError
from ..models import Article

if TYPE_CHECKING:
    from .files import ReadReport

MAX_OPML_BYTES = 5_000_000
log = logging.getLogger("storyline.ingest")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription of an OPML file; ``category`` is the path of enclosing outline titles."""

    url: str
    title: str = ""
    html_url: str = ""
    category: str = ""


def _walk(node: Element, path: tuple[str, ...], out: list[OpmlFeed], seen: set[str]) -> None:
    for outline in node.findall("outline"):
        title = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or outline.get("url") or "").strip()
        if url and outline.get("type", "rss").lower() in ("rss", "atom", "feed", "rdf", "json", "link", ""):
            if url not in seen:
                seen.add(url)
                out.append(OpmlFeed(url=url, title=title, html_url=(outline.get("htmlUrl") or "").strip(),
                                    category="/".join(path)))
        _walk(outline, path + ((title,) if title and not url else ()), out, seen)


def parse_opml(data: bytes, *, origin: str = "OPML") -> list[OpmlFeed]:
    """The feeds an OPML document lists, in document order, each URL once.

    Raises:
        IngestError: too large, not well-formed, declares entities, or is not OPML.
    """
    if len(data) > MAX_OPML_BYTES:
        raise IngestError(origin, f"OPML file is {len(data):,} bytes, more than the {MAX_OPML_BYTES:,}-byte cap")
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise IngestError(origin, f"OPML declares XML entities or external references ({exc}); refused") from exc
    except ParseError as exc:
        raise IngestError(origin, f"not well-formed XML ({exc})") from exc
    if root.tag.lower() != "opml":
        raise IngestError(origin, f"not an OPML document (root element <{root.tag}>)")
    body = root.find("body")
    feeds: list[OpmlFeed] = []
    if body is not None:
        _walk(body, (), feeds, set())
    return feeds


def read_opml(path: Path) -> list[OpmlFeed]:
    """:func:`parse_opml` of a file.

    Raises:
        IngestError: unreadable or invalid file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file ({exc.strerror or exc})") from exc
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
