"""Per-story Atom and JSON Feed 1.1: one entry per UTC day that brought news to the story.

Each entry is an update (:func:`storyline.follow.daily_updates`): the sentences that day's reports
added to what came before, each followed by its outlet. The first day's entry is the story as
first reported. An entry links to the story page showing that update (``?since=`` the day's start).
Days whose reports added nothing new (only reprints or restatements) have no entry.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .. import follow
from ..store.sqlite import SQLiteStore
from .feeds import ATOM_NS, JSON_FEED_VERSION
from .render import iso

_EPOCH = "1970-01-01T00:00:00+00:00"


def entries(store: SQLiteStore, story: dict[str, Any]) -> list[dict[str, Any]]:
    """The story's updates that say something, newest first."""
    return [u for u in follow.daily_updates(store, story["id"]) if u["sentences"]]


def _entry_title(story: dict[str, Any], update: dict[str, Any], first: bool) -> str:
    if first:
        return update["headline"] or story["headline"]
    return f"Update: {update['headline'] or story['headline']}"


def _content(update: dict[str, Any]) -> str:
    lines = [f"{s['text']} ({s['outlet']})" if s["outlet"] else s["text"] for s in update["sentences"]]
    outlets = ", ".join(update["new_outlets"])
    lines.append(f"{update['new_reports']} new original reports, {update['new_reprints']} new reprints"
                 + (f" from {outlets}." if outlets else "."))
    return "\n\n".join(lines)


def _links(story: dict[str, Any], update: dict[str, Any], base_url: str) -> tuple[str, str]:
    page = f"{base_url}/stories/{story['id']}"
    return f"{page}#update-{update['day']}", f"{page}?since={quote(update['since'])}#update"


def atom(story: dict[str, Any], updates: Sequence[dict[str, Any]], *, base_url: str) -> bytes:
    """An Atom 1.0 document of ``updates`` (from :func:`entries`) for ``story`` (a story view)."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    page = f"{base_url}/stories/{story['id']}"
    sub(feed, "id", f"{page}/feed.atom")
    sub(feed, "title", f"storyline: {story['headline']}")
    sub(feed, "subtitle", story["coverage"])
    sub(feed, "updated", max((iso(u["latest"]) for u in updates if u["latest"]), default=iso(story["last_seen"]))
        or _EPOCH)
    sub(feed, "link", rel="self", href=f"{page}/feed.atom", type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=page, type="text/html")
    sub(sub(feed, "author"), "name", "storyline")
    sub(feed, "generator", "storyline", uri="https://github.com/storyline-news/storyline")
    oldest = updates[-1]["day"] if updates else None
    for u in updates:
        entry = sub(feed, "entry")
        entry_id, link = _links(story, u, base_url)
        sub(entry, "id", entry_id)
        sub(entry, "title", _entry_title(story, u, u["day"] == oldest))
        sub(entry, "link", rel="alternate", href=link, type="text/html")
        sub(entry, "updated", iso(u["latest"]) or _EPOCH)
        for name in u["new_outlets"]:
            sub(sub(entry, "contributor"), "name", name)
        sub(entry, "summary", " ".join(s["text"] for s in u["sentences"]), type="text")
        sub(entry, "content", _content(u), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))


def json_feed(story: dict[str, Any], updates: Sequence[dict[str, Any]], *, base_url: str) -> bytes:
    """A JSON Feed 1.1 document of ``updates`` for ``story``."""
    page = f"{base_url}/stories/{story['id']}"
    oldest = updates[-1]["day"] if updates else None
    items = []
    for u in updates:
        entry_id, link = _links(story, u, base_url)
        items.append({
            "id": entry_id, "url": link, "title": _entry_title(story, u, u["day"] == oldest),
            "summary": " ".join(s["text"] for s in u["sentences"]), "content_text": _content(u),
            "date_published": iso(u["latest"]) or None, "date_modified": iso(u["latest"]) or None,
            "authors": [{"name": n} for n in u["new_outlets"]],
            "_storyline": {"story_id": story["id"], "day": u["day"], "since": u["since"],
                           "new_reports": u["new_reports"], "new_reprints": u["new_reprints"],
                           "sentences": [{"text": s["text"], "outlet": s["outlet"], "article_id": s["article_id"]}
                                         for s in u["sentences"]]},
        })
    doc = {"version": JSON_FEED_VERSION, "title": f"storyline: {story['headline']}", "description": story["coverage"],
           "home_page_url": page, "feed_url": f"{page}/feed.json", "language": "en", "items": items,
           "_storyline": {"story_id": story["id"], "outlets": story["outlets"], "reports": story["reports"],
                          "reprints": story["reprints"], "coverage": story["coverage"],
                          "api_url": f"{base_url}/api/stories/{story['id']}"}}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


__all__ = ["atom", "entries", "json_feed"]
