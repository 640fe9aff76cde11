"""Views: compute the data of every page as plain dicts (JSON-ready).

The JSON API returns these dicts as they are; the HTML renderer formats the same dicts, so
the two never disagree. Dates stay ISO 8601 strings here; links to articles carry both the
raw ``url`` and ``href`` (the URL when it is safe to link, else None).
"""
from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from .. import follow, sources as registry
from ..related import related as related_stories
from ..cluster.features import default_idf
from ..dedup.minhash import shingles
from ..ingest.dates import parse_date, shifted
from ..store import queries
from ..store.editorial import UNDOABLE, editorial_log, headline_history, is_hidden
from ..store.sqlite import SQLiteStore
from ..text import content_words
from .security import safe_href

MAX_LIMIT = 100
TIME_RANGES = {"24h": 24.0, "3d": 72.0, "7d": 168.0, "30d": 720.0}


@dataclass(frozen=True, slots=True)
class Page:
    """Pagination asked for by a request."""

    limit: int = 20
    offset: int = 0


def _pages(page: Page, total: int) -> dict[str, Any]:
    nxt = page.offset + page.limit
    return {"limit": page.limit, "offset": page.offset, "total": total,
            "next_offset": nxt if nxt < total else None,
            "prev_offset": max(0, page.offset - page.limit) if page.offset > 0 else None}


def outlet_path(name: str) -> str:
    return "/outlets/" + quote(name, safe="")


def _one_line(summary_json: str) -> str:
    summary = json.loads(summary_json) if summary_json else {}
    sentences = summary.get("sentences") or []
    return str(sentences[0]["text"]) if sentences else str(summary.get("summary", ""))


def _count(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def coverage_label(outlets: int, reports: int, reprints: int) -> str:
    """The one wording of a story's coverage, used by every page, the API and the feeds:
    ``"8 outlets · 6 original reports, 5 reprints"`` (outlets count reprinting outlets too)."""
    return f"{_count(outlets, 'outlet')} · {_count(reports, 'original report')}, {_count(reprints, 'reprint')}"


def _headline(row: sqlite3.Row) -> str:
    """The stored headline; a story with none is named by its first summary sentence."""
    if row["headline"]:
        return str(row["headline"])
    first = _one_line(row["summary"])
    words = first.split()
    return " ".join(words[:14]) + ("…" if len(words) > 14 else "") if words else "Story without a title"


def story_card(row: sqlite3.Row) -> dict[str, Any]:
    """The short form of a story used in lists, feeds and search results."""
    return {
        "id": row["id"], "headline": _headline(row), "pinned": bool(row["pinned"]),
        "summary": _one_line(row["summary"]), "reports": row["size"], "reprints": row["duplicates"],
        "outlets": row["outlets"], "coverage": coverage_label(row["outlets"], row["size"], row["duplicates"]),
        "first_seen": row["first_seen"], "last_seen": row["last_seen"],
        "updated_at": row["updated_at"], "url": f"/stories/{row['id']}", "api_url": f"/api/stories/{row['id']}",
    }


def _article_link(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "outlet": row["source"], "outlet_url": outlet_path(row["source"])
            if row["source"] else None, "url": row["url"], "href": safe_href(row["url"]), "published": row["published"]}


# -- lists ------------------------------------------------------------------------------------
def _registry_filter(store: SQLiteStore, kind: str, country: str, lean: str) -> tuple[tuple[str, ...] | None,
                                                                                    dict[str, list[str]]]:
    """The outlet names a kind/country/lean filter selects (None: no such filter) and the choices."""
    outlets = registry.list_outlets(store)
    choices = {"kinds": sorted({o.kind for o in outlets if o.kind}),
               "countries": sorted({o.country for o in outlets if o.country}),
               "leans": [lean_ for lean_ in registry.LEANS if any(o.lean == lean_ for o in outlets)]}
    if not (kind or country or lean):
        return None, choices
    resolved = registry.resolve(store, outlets)
    names = tuple(sorted(src for src, o in resolved.items()
                         if (not kind or o.kind == kind) and (not country or o.country == country)
                         and (not lean or o.lean == lean)))
    return names, choices


def front(store: SQLiteStore, *, since: str | None = None, outlet: str | None = None, language: str | None = None,
          kind: str | None = None, country: str | None = None, lean: str | None = None,
          page: Page = Page()) -> dict[str, Any]:
    """Stories ranked by breadth and freshness, with the filter choices the page offers; ``kind``,
    ``country`` and ``lean`` keep stories covered by a registered outlet of that description."""
    since_iso = queries.since_for(store, TIME_RANGES[since]) if since in TIME_RANGES else None
    names, registry_choices = _registry_filter(store, kind or "", country or "", lean or "")
    flt = queries.StoryFilter(since=since_iso, outlet=outlet or None, language=language or None, sources=names)
    rows, total = queries.ranked_stories(store, flt, limit=page.limit, offset=page.offset)
    return {
        "stories": [story_card(r) for r in rows], **_pages(page, total),
        "filters": {"since": since if since in TIME_RANGES else None, "outlet": outlet or None,
                    "language": language or None, "kind": kind or None, "country": country or None,
                    "lean": lean or None},
        "choices": {"since": list(TIME_RANGES), "outlets": queries.outlet_names(store),
                    "languages": queries.languages(store), **registry_choices},
        "as_of": queries.latest_time(store),
    }


def search_since(store: SQLiteStore, since: str | None) -> str | None:
    """A search's ``since``: a range before the newest coverage (``24h``, ``3d``, ``7d``, ``30d``)
    or an ISO date or time (a date means from the start of that day, UTC), as an ISO time.

    Raises:
        follow.SinceError: anything else.
    """
    if not since:
        return None
    if since in TIME_RANGES:
        return queries.since_for(store, TIME_RANGES[since])
    when = parse_date(since) if not since.strip().isdigit() else None
    if when is None:
        raise follow.SinceError(f"since={since[:40]!r} is not 24h, 3d, 7d, 30d or an ISO date or time")
    return when.isoformat()


def search(store: SQLiteStore, q: str, *, outlet: str | None = None, since: str | None = None,
           page: Page = Page()) -> dict[str, Any]:
    """Stories and articles matching ``q`` (words, all required; the last may be a prefix),
    optionally only from ``outlet`` and first seen since ``since`` (see :func:`search_since`)."""
    q = q.strip()[:200]
    since_iso = search_since(store, since)
    flt = {"outlet": outlet or None, "since": since_iso}
    found, total_stories = queries.search_stories(store, q, limit=page.limit, offset=page.offset, **flt)
    cards = queries.story_cards(store, [sid for sid, _ in found])
    stories = [story_card(cards[sid]) for sid, _ in found if sid in cards]
    arts, total_articles = queries.search_articles(store, q, limit=page.limit, offset=page.offset, **flt)
    articles = [{**_article_link(r), "story_id": r["story_id"], "story_url": f"/stories/{r['story_id']}",
                 "reprint_of": None if r["canonical_id"] == r["id"] else r["canonical_id"], "snippet": r["snippet"]}
                for r in arts]
    return {"q": q, "filters": {"outlet": outlet or None, "since": since or None},
            "stories": stories, "articles": articles, "total_articles": total_articles,
            **_pages(page, max(total_stories, total_articles)), "total": total_stories}


def articles(store: SQLiteStore, *, outlet: str | None = None, story: str | None = None,
             page: Page = Page()) -> dict[str, Any]:
    rows, total = queries.articles(store, outlet=outlet, story_id=story, limit=page.limit, offset=page.offset)
    items = [{**_article_link(r), "language": r["language"], "story_id": r["story_id"],
              "story_url": f"/stories/{r['story_id']}",
              "reprint_of": None if r["canonical_id"] == r["id"] else r["canonical_id"]} for r in rows]
    return {"articles": items, **_pages(page, total)}


def outlets(store: SQLiteStore) -> dict[str, Any]:
    items = [{"name": r["name"], "url": outlet_path(r["name"]), "articles": r["articles"], "originals": r["originals"],
              "reprints": r["reprints"], "stories": r["stories"], "last_published": r["last_published"]}
             for r in queries.outlets(store)]
    return {"outlets": items, "total": len(items)}


def outlet(store: SQLiteStore, name: str, *, page: Page = Page()) -> dict[str, Any] | None:
    """What one outlet covered; None when no article comes from ``name``."""
    counts = next((r for r in queries.outlets(store) if r["name"] == name), None)
    if counts is None:
        return None
    rows, total = queries.outlet_stories(store, name, limit=page.limit, offset=page.offset)
    recent = articles(store, outlet=name, page=Page(limit=10))["articles"]
    return {"name": name, "url": outlet_path(name), "articles": counts["articles"], "originals": counts["originals"],
            "reprints": counts["reprints"], "last_published": counts["last_published"],
            "stories": [story_card(r) for r in rows], "recent_articles": recent, **_pages(page, total)}


# -- one story --------------------------------------------------------------------------------
def _sources(rows: Sequence[sqlite3.Row]) -> list[dict[str, Any]]:
    copies: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["canonical_id"] != r["id"]:
            copies.setdefault(r["canonical_id"], []).append(_article_link(r))
    return [{**_article_link(r), "language": r["language"], "reprints": copies.get(r["id"], [])}
            for r in rows if r["canonical_id"] == r["id"]]


MISSING_WINDOW = timedelta(hours=12)  # an outlet is active around a story if it published this close to it


def _described(outlet: registry.Outlet | None) -> dict[str, Any]:
    if outlet is None:
        return {"registered": False, "kind": "", "country": "", "lean": "", "language": ""}
    return {"registered": True, "registered_name": outlet.name, "kind": outlet.kind, "country": outlet.country,
            "lean": outlet.lean, "language": outlet.language}


def _coverage(rows: Sequence[sqlite3.Row], resolved: dict[str, registry.Outlet]) -> list[dict[str, Any]]:
    """Every outlet that carried the story with its original reports and reprints (most first),
    described by the registry where it is registered."""
    counts: dict[str, list[int]] = {}
    for r in rows:
        if r["source"]:
            counts.setdefault(r["source"], [0, 0])[r["canonical_id"] != r["id"]] += 1
    return [{"name": name, "url": outlet_path(name), "reports": c[0], "reprints": c[1],
             **_described(resolved.get(name))}
            for name, c in sorted(counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))]


def _missing(store: SQLiteStore, rows: Sequence[sqlite3.Row], resolved: dict[str, registry.Outlet]) -> dict[str, Any]:
    """Registered outlets active in the story's time window (an article first seen within
    :data:`MISSING_WINDOW` of its first and last report) that did not cover it."""
    times = [t for t in (parse_date(r["published"]) for r in rows) if t]
    if not resolved or not times:
        return {"outlets": [], "window": None}
    start, end = shifted(min(times), -MISSING_WINDOW), shifted(max(times), MISSING_WINDOW)
    covering = {resolved[r["source"]].name for r in rows if r["source"] in resolved}
    active: dict[str, registry.Outlet] = {}
    for source in queries.sources_active_between(store, start.isoformat(), end.isoformat()):
        outlet = resolved.get(source)
        if outlet is not None and outlet.name not in covering:
            active.setdefault(outlet.name, outlet)
    return {"window": {"start": start.isoformat(), "end": end.isoformat()},
            "outlets": [{"name": o.name, "kind": o.kind, "country": o.country, "lean": o.lean,
                         "url": outlet_path(o.name)} for o in sorted(active.values(), key=lambda o: o.name.lower())]}


def _sentences(summary: dict[str, Any], by_id: dict[str, sqlite3.Row]) -> list[dict[str, Any]]:
    out = []
    for s in summary.get("sentences") or []:
        row = by_id.get(s.get("article_id", ""))
        url = row["url"] if row is not None else s.get("url", "")
        outlet_name = row["source"] if row is not None else s.get("source", "")
        out.append({"text": s.get("text", ""), "article_id": s.get("article_id", ""), "outlet": outlet_name,
                    "outlet_url": outlet_path(outlet_name) if outlet_name else None,
                    "article_title": row["title"] if row is not None else "", "url": url, "href": safe_href(url)})
    return out


def _undoable(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Log entries marked ``undoable`` (an undoable action not undone yet)."""
    undone = {e.get("of") for e in log if e["action"] == "undo"}
    return [{**e, "undoable": e["action"] in UNDOABLE and e["id"] not in undone} for e in log]


def _story_terms(headline: str, rows: Sequence[sqlite3.Row], keep: int = 10) -> list[str]:
    idf = default_idf()
    counts: Counter[str] = Counter(content_words(headline) * 2)
    for r in rows:
        if r["canonical_id"] == r["id"]:
            counts.update(set(content_words(r["title"])))
    scored = {w: c * idf[w] for w, c in counts.items() if not w.isdigit()}
    return sorted(scored, key=lambda w: (-scored[w], w))[:keep]


def _related(store: SQLiteStore, story_id: str) -> list[dict[str, Any]]:
    """Stories the clusterer's representation puts close to this one, above a floor (no filler)."""
    found = related_stories(store, story_id, limit=5)
    cards = queries.story_cards(store, [sid for sid, _ in found])
    return [{**story_card(cards[sid]), "relatedness": score} for sid, score in found
            if sid in cards and cards[sid]["size"] > 0]


def _decorate_update(data: dict[str, Any], by_id: dict[str, sqlite3.Row]) -> dict[str, Any]:
    """Links for an update's sentences and reports (outlet pages, safe article links)."""
    for s in data["sentences"]:
        row = by_id.get(s["article_id"])
        s.update(outlet_url=outlet_path(s["outlet"]) if s["outlet"] else None,
                 article_title=row["title"] if row is not None else "",
                 url=row["url"] if row is not None else "", href=safe_href(row["url"]) if row is not None else None)
    for r in data["reports"]:
        r.update(outlet_url=outlet_path(r["outlet"]) if r["outlet"] else None, href=safe_href(r["url"]))
    return data


def story_update(store: SQLiteStore, story_id: str, since: datetime) -> dict[str, Any] | None:
    """What is new in a story since ``since``: attributed sentences from later reports only."""
    card = queries.story_cards(store, [story_id]).get(story_id)
    rows = queries.story_articles(store, story_id)
    if card is None or not rows or is_hidden(store, story_id):
        return None
    data = _decorate_update(follow.update(store, story_id, since), {r["id"]: r for r in rows})
    return {"story_id": story_id, "url": f"/stories/{story_id}", **data}


def story(store: SQLiteStore, story_id: str, *, since: datetime | None = None,
          include_hidden: bool = False) -> dict[str, Any] | None:
    """Everything the story page shows; None when ``story_id`` is not a current story (or is
    hidden, unless ``include_hidden``). With ``since``, also what is new since then (``new_since``)
    and which sources are new."""
    card = queries.story_cards(store, [story_id]).get(story_id)
    rows = queries.story_articles(store, story_id)
    hidden = is_hidden(store, story_id)
    if card is None or not rows or (hidden and not include_hidden):
        return None
    summary = json.loads(card["summary"]) if card["summary"] else {}
    by_id = {r["id"]: r for r in rows}
    terms = _story_terms(card["headline"], rows)
    history = [{"story_id": m["old_id"], "merged_at": m["merged_at"], "reason": m["reason"]}
               for m in queries.merged_into(store, story_id)]
    update = _decorate_update(follow.update(store, story_id, since), by_id) if since else None
    resolved = registry.resolve(store)
    return {
        **story_card(card),
        "new_since": update,
        "summary": {"text": " ".join(s.get("text", "") for s in summary.get("sentences") or []),
                    "sentences": _sentences(summary, by_id), "summarizer": summary.get("summarizer", "")},
        "sources": _sources(rows),
        "outlet_names": sorted({r["source"] for r in rows if r["source"]}),
        "coverage_by_outlet": _coverage(rows, resolved),
        "missing": _missing(store, rows, resolved),
        "feeds": {"atom": f"/stories/{story_id}/feed.atom", "json": f"/stories/{story_id}/feed.json"},
        "timeline": [{"time": r["published"], "outlet": r["source"], "article_id": r["id"],
                      "kind": "original" if r["canonical_id"] == r["id"] else "reprint"} for r in rows],
        "terms": terms, "related": _related(store, story_id), "merged_from": history,
        "hidden": hidden,
        "editorial_log": _undoable(editorial_log(store, limit=20, story_id=story_id)),
        "headline_history": headline_history(store, story_id),
        "about_url": f"/stories/{story_id}/about",
    }


# -- the source registry -----------------------------------------------------------------------
def sources(store: SQLiteStore) -> dict[str, Any]:
    """The registry, with the outlet names on stored articles each registered outlet claims."""
    outlets = registry.list_outlets(store)
    claimed: dict[str, list[str]] = {}
    for source, outlet in registry.resolve(store, outlets).items():
        claimed.setdefault(outlet.name, []).append(source)
    items = [{**o.to_dict(), "url": outlet_path(o.name), "api_url": "/api/sources/" + quote(o.name, safe=""),
              "article_names": sorted(claimed.get(o.name, []))} for o in outlets]
    return {"sources": items, "total": len(items), "kinds": list(registry.KINDS), "leans": list(registry.LEANS),
            "csv_columns": list(registry.CSV_COLUMNS)}


def source(store: SQLiteStore, name: str) -> dict[str, Any] | None:
    outlet = registry.get_outlet(store, name)
    if outlet is None:
        return None
    claimed = sorted(src for src, o in registry.resolve(store).items() if o.name == outlet.name)
    return {**outlet.to_dict(), "url": outlet_path(outlet.name), "article_names": claimed}


# -- why each article is in the story ---------------------------------------------------------
def _vectors(rows: Sequence[sqlite3.Row]) -> dict[str, dict[str, float]]:
    idf, out = default_idf(), {}
    for r in rows:
        tf = Counter(content_words(r["title"]) * 2 + content_words(r["text"])[:400])
        vec = {w: (1.0 + math.log(c)) * idf[w] for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out[r["id"]] = {w: v / norm for w, v in vec.items()}
    return out


def _evidence(aid: str, vecs: dict[str, dict[str, float]]) -> dict[str, Any]:
    own = vecs[aid]
    rest: Counter[str] = Counter()
    share: Counter[str] = Counter()
    for other, vec in vecs.items():
        if other != aid:
            rest.update(vec)
            share.update(vec.keys())
    norm = math.sqrt(sum(v * v for v in rest.values())) or 1.0
    similarity = sum(v * rest.get(w, 0.0) for w, v in own.items()) / norm if rest else None
    shared = sorted((w for w in own if share[w]), key=lambda w: (-own[w] * share[w], w))[:12]
    return {"similarity": None if similarity is None else round(similarity, 3),
            "shared_terms": [{"term": w, "articles": share[w]} for w in shared]}


def _jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


def about(store: SQLiteStore, story_id: str) -> dict[str, Any] | None:
    """Similarity evidence for each article of a story: shared terms, similarity to the rest,
    and for reprints, how closely they copy their original."""
    card = queries.story_cards(store, [story_id]).get(story_id)
    rows = queries.story_articles(store, story_id)
    if card is None or not rows or is_hidden(store, story_id):
        return None
    originals = [r for r in rows if r["canonical_id"] == r["id"]]
    by_id = {r["id"]: r for r in rows}
    vecs = _vectors(originals)
    items = []
    for r in originals:
        copies = []
        for c in (c for c in rows if c["canonical_id"] == r["id"] and c["id"] != r["id"]):
            exact = c["content_hash"] == r["content_hash"]
            copies.append({**_article_link(c), "match": "exact copy" if exact else "near copy",
                           "jaccard": 1.0 if exact else round(_jaccard(f"{c['title']}\n{c['text']}",
                                                                       f"{r['title']}\n{r['text']}"), 3)})
        items.append({**_article_link(r), **_evidence(r["id"], vecs), "reprints": copies})
    orphans = [_article_link(r) for r in rows if r["canonical_id"] != r["id"] and r["canonical_id"] not in by_id]
    return {**story_card(card), "articles": items, "reprints_of_other_stories": orphans,
            "method": ("Similarity is the cosine between the article's TF-IDF vector and the sum of the other "
                       "reports' vectors; shared terms are the article's most weighted words that other reports "
                       "also use; reprints are matched by content hash (exact) or word-trigram overlap (near)")}


def article(store: SQLiteStore, article_id: str) -> dict[str, Any] | None:
    r = queries.article(store, article_id)
    if r is None:
        return None
    return {**_article_link(r), "fetched_url": r["fetched_url"], "text": r["text"], "language": r["language"],
            "story_id": r["story_id"],
            "story_url": f"/stories/{r['story_id']}",
            "reprint_of": None if r["canonical_id"] == r["id"] else r["canonical_id"]}


def top_stories(store: SQLiteStore, *, q: str = "", limit: int = 20, outlet: str | None = None,
                since: str | None = None) -> list[dict[str, Any]]:
    """The stories a feed carries: the front page's top stories, or those matching ``q`` (with the
    search's ``outlet`` and ``since`` filters)."""
    if q.strip():
        return list(search(store, q, outlet=outlet, since=since, page=Page(limit=limit))["stories"])
    return list(front(store, page=Page(limit=limit))["stories"])


def story_full(store: SQLiteStore, story_id: str) -> dict[str, Any] | None:
    """Story detail for feed entries (summary sentences included)."""
    return story(store, story_id)


__all__ = [
    "MAX_LIMIT",
    "TIME_RANGES",
    "Page",
    "about",
    "article",
    "articles",
    "front",
    "outlet",
    "outlet_path",
    "outlets",
    "search",
    "source",
    "sources",
    "story",
    "story_card",
    "story_update",
    "top_stories",
]
