"""Atom and JSON Feed 1.1 renderings of story lists (top stories, or a search).

One entry per story, identified by its story URL, so a feed reader shows a story once and
marks it updated when coverage grows (``updated`` is the story's latest article time).
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from .render import iso

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
_EPOCH = "1970-01-01T00:00:00+00:00"
# Characters XML 1.0 does not allow (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF):
# one of them in a stored title would make the whole feed unreadable for every subscriber.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` without the characters XML cannot carry."""
    return _NOT_XML.sub("", value) if value else value


def _content_text(story: dict[str, Any]) -> str:
    lines = [f"{s['text']} ({s['outlet']})" if s["outlet"] else s["text"]
             for s in story["summary"]["sentences"] or story.get("headlines") or []]
    lines.append(f"{story['coverage']}.")  # worded as on the story page (views.coverage_label)
    return "\n\n".join(lines)


def _title(q: str) -> str:
    return f"storyline: stories matching “{q}”" if q else "storyline: top stories"


def _self_query(q: str) -> str:
    return ("?" + urlencode({"q": q})) if q else ""


def _updated(stories: Sequence[dict[str, Any]]) -> str:
    times = [iso(s["last_seen"] or s["updated_at"]) for s in stories]
    return max((t for t in times if t), default=_EPOCH)


def atom(stories: Sequence[dict[str, Any]], *, base_url: str, q: str = "") -> bytes:
    """An Atom 1.0 document of ``stories`` (story detail dicts from :func:`views.story`)."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: xml_text(v) for k, v in attrs.items()})
        if text is not None:
            el.text = xml_text(text)
        return el

    sub(feed, "id", f"{base_url}/feed.atom{_self_query(q)}")
    sub(feed, "title", _title(q))
    sub(feed, "updated", _updated(stories))
    sub(feed, "link", rel="self", href=f"{base_url}/feed.atom{_self_query(q)}", type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=f"{base_url}/" if not q else f"{base_url}/search{_self_query(q)}",
        type="text/html")
    sub(sub(feed, "author"), "name", "storyline")
    sub(feed, "generator", "storyline", uri="https://github.com/storyline-news/storyline")
    for s in stories:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base_url}/stories/{s['id']}")
        sub(entry, "title", s["headline"])
        sub(entry, "link", rel="alternate", href=f"{base_url}/stories/{s['id']}", type="text/html")
        sub(entry, "updated", iso(s["last_seen"] or s["updated_at"]) or _EPOCH)
        if s["first_seen"]:
            sub(entry, "published", iso(s["first_seen"]))
        for name in s["outlet_names"]:
            sub(sub(entry, "contributor"), "name", name)
        sub(entry, "summary", s["summary"]["text"] or s["headline"], type="text")
        sub(entry, "content", _content_text(s), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))


def json_feed(stories: Sequence[dict[str, Any]], *, base_url: str, q: str = "") -> bytes:
    """A JSON Feed 1.1 document of ``stories``."""
    items = [{
        "id": f"{base_url}/stories/{s['id']}", "url": f"{base_url}/stories/{s['id']}", "title": s["headline"],
        "summary": s["summary"]["text"] or s["headline"], "content_text": _content_text(s),
        "date_published": iso(s["first_seen"]) or None, "date_modified": iso(s["last_seen"]) or None,
        "authors": [{"name": n} for n in s["outlet_names"]],
        "_storyline": {"story_id": s["id"], "reports": s["reports"], "reprints": s["reprints"],
                       "outlets": s["outlets"], "api_url": f"{base_url}/api/stories/{s['id']}"},
    } for s in stories]
    doc = {"version": JSON_FEED_VERSION, "title": _title(q),
           "home_page_url": f"{base_url}/" if not q else f"{base_url}/search{_self_query(q)}",
           "feed_url": f"{base_url}/feed.json{_self_query(q)}", "language": "en", "items": items}
    # a lone surrogate in an old stored value becomes a \\uXXXX escape, which JSON allows
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8", "backslashreplace")


__all__ = ["ATOM_NS", "JSON_FEED_VERSION", "atom", "json_feed"]
