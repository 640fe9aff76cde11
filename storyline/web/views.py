"""Views: compute the data of every page as plain dicts (JSON-ready).

The JSON API returns these dicts as they are; the HTML renderer formats the same dicts, so
the two never disagree. Dates stay ISO 8601 strings here; links to articles carry both the
raw ``url`` and ``href`` (the URL when it is safe to link, else None).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from .. import follow, sources as registry
from ..evidence import story_evidence, vector_terms
from ..related import related as related_stories
from ..dedup.minhash import shingles
from ..ingest.dates import parse_date, shifted
from ..store import queries
from ..store.editorial import UNDOABLE, editorial_log, headline_history, is_hidden
from ..store.sqlite import SQLiteStore
from ..view import coverage_label, report_list, story_card, story_cards, story_view
from .security import safe_href

MAX_LIMIT = 100
SOURCES_SHOWN = 50  # original reports (and reprints) a story page lists; all of them on /stories/{id}/sources
SOURCES_PAGE = 100  # original reports per page of /stories/{id}/sources
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
        "stories": story_cards(store, rows), **_pages(page, total),
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
    found, total_stories, arts, total_articles = queries.search(store, q, limit=page.limit, offset=page.offset, **flt)
    cards = queries.story_cards(store, [sid for sid, _ in found])
    stories = story_cards(store, [cards[sid] for sid, _ in found if sid in cards])
    articles = [{**_article_link(r), "story_id": r["story_id"], "story_url": f"/stories/{r['story_id']}",
                 "reprint_of": None if r["canonical_id"] == r["id"] else r["canonical_id"], "snippet": r["snippet"]}
                for r in arts]
    return {"q": q, "filters": {"outlet": outlet or None, "since": since or None},
            "stories": stories, "articles": articles, "total_articles": total_articles,
            **_pages(page, max(total_stories, total_articles)), "total": total_stories,
            # more articles match than are ranked: the stories counted are the newest matches' only
            "total_partial": total_articles > queries.SEARCH_RANKED}


def articles(store: SQLiteStore, *, outlet: str | None = None, story: str | None = None,
             page: Page = Page()) -> dict[str, Any]:
    rows, total = queries.articles(store, outlet=outlet, story_id=story, limit=page.limit, offset=page.offset)
    items = [{**_article_link(r), "language": r["language"], "story_id": r["story_id"],
              "story_url": f"/stories/{r['story_id']}",
              "reprint_of": None if r["canonical_id"] == r["id"] else r["canonical_id"]} for r in rows]
    return {"articles": items, **_pages(page, total)}


def outlets(store: SQLiteStore) -> dict[str, Any]:
    items = [{"name": r["name"], "url": outlet_path(r["name"]), "articles": r["articles"], "originals": r["originals"],
              "reprints": r["reprints"], "last_published": r["last_published"]}
             for r in queries.outlets(store)]
    return {"outlets": items, "total": len(items)}


def outlet(store: SQLiteStore, name: str, *, page: Page = Page()) -> dict[str, Any] | None:
    """What one outlet covered; None when no article comes from ``name``."""
    counts = next(iter(queries.outlets(store, name)), None)
    if counts is None:
        return None
    rows, total = queries.outlet_stories(store, name, limit=page.limit, offset=page.offset)
    recent = articles(store, outlet=name, page=Page(limit=10))["articles"]
    return {"name": name, "url": outlet_path(name), "articles": counts["articles"], "originals": counts["originals"],
            "reprints": counts["reprints"], "last_published": counts["last_published"],
            "stories": story_cards(store, rows), "recent_articles": recent, **_pages(page, total)}


# -- one story: the view-model (storyline.view) with the web's links and sections ------------
def _linked(item: dict[str, Any]) -> dict[str, Any]:
    """An article link of the view-model with its outlet page and safe ``href``."""
    return {**item, "outlet_url": outlet_path(item["outlet"]) if item["outlet"] else None,
            "href": safe_href(item["url"])}


MISSING_WINDOW = timedelta(hours=12)  # an outlet is active around a story if it published this close to it


def _described(outlet: registry.Outlet | None) -> dict[str, Any]:
    if outlet is None:
        return {"registered": False, "kind": "", "country": "", "lean": "", "language": ""}
    return {"registered": True, "registered_name": outlet.name, "kind": outlet.kind, "country": outlet.country,
            "lean": outlet.lean, "language": outlet.language}


def _missing(store: SQLiteStore, timeline: Sequence[dict[str, Any]],
             resolved: dict[str, registry.Outlet]) -> dict[str, Any]:
    """Registered outlets active in the story's time window (an article first seen within
    :data:`MISSING_WINDOW` of its first and last report) that did not cover it."""
    if not resolved:  # no registry: nothing to parse (a story's dates are a thousand on a big story)
        return {"outlets": [], "window": None}
    times = [t for t in (parse_date(r["time"]) for r in timeline) if t]
    if not times:
        return {"outlets": [], "window": None}
    start, end = shifted(min(times), -MISSING_WINDOW), shifted(max(times), MISSING_WINDOW)
    covering = {resolved[r["outlet"]].name for r in timeline if r["outlet"] in resolved}
    active: dict[str, registry.Outlet] = {}
    for source in queries.sources_active_between(store, start.isoformat(), end.isoformat()):
        outlet = resolved.get(source)
        if outlet is not None and outlet.name not in covering:
            active.setdefault(outlet.name, outlet)
    return {"window": {"start": start.isoformat(), "end": end.isoformat()},
            "outlets": [{"name": o.name, "kind": o.kind, "country": o.country, "lean": o.lean,
                         "url": outlet_path(o.name)} for o in sorted(active.values(), key=lambda o: o.name.lower())]}


def _undoable(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Log entries marked ``undoable`` (an undoable action not undone yet)."""
    undone = {e.get("of") for e in log if e["action"] == "undo"}
    return [{**e, "undoable": e["action"] in UNDOABLE and e["id"] not in undone} for e in log]


def _related(store: SQLiteStore, story_id: str) -> list[dict[str, Any]]:
    """Stories the clusterer's representation puts close to this one, above a floor (no filler)."""
    found = related_stories(store, story_id, limit=5)
    rows = queries.story_cards(store, [sid for sid, _ in found])
    cards = {c["id"]: c for c in story_cards(store, [r for r in rows.values() if r["size"] > 0])}
    return [{**cards[sid], "relatedness": score} for sid, score in found if sid in cards]


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


def _linked_source(a: dict[str, Any]) -> dict[str, Any]:
    """An original report of the view-model with its links, its reprints' links and
    ``reprint_count``, how many reprints it has in all (more than listed on a cut list)."""
    return {**_linked(a), "reprints": [_linked(r) for r in a["reprints"]],
            "reprint_count": a.get("reprint_count", len(a["reprints"]))}


def _shown_sources(sources: Sequence[dict[str, Any]], cited: set[str], limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` original reports with at most ``limit`` of their reprints, and every
    other report or reprint a summary sentence or headline links to (its jump link must land on
    the page). Each keeps ``reprint_count``, how many reprints it has in all."""
    shown: list[dict[str, Any]] = []
    listed = 0
    for i, a in enumerate(sources):
        if i >= limit and a["id"] not in cited and not any(r["id"] in cited for r in a["reprints"]):
            continue
        kept = []
        for r in a["reprints"]:
            if r["id"] in cited or listed < limit:
                kept.append(r)
                listed += 1
        shown.append({**a, "reprints": kept, "reprint_count": len(a["reprints"])})
    return shown


def story(store: SQLiteStore, story_id: str, *, since: datetime | None = None,
          include_hidden: bool = False, sources_limit: int | None = None) -> dict[str, Any] | None:
    """Everything the story page shows: the story view-model (:func:`storyline.view.story_view`,
    where every count and the headline come from) with links, the registry's description of each
    outlet, who missed it, related stories, history and feeds; None when ``story_id`` is not a
    current story (or is hidden, unless ``include_hidden``). With ``since``, also what is new since
    then (``new_since``).

    ``sources`` lists every original report with its reprints, or with ``sources_limit``
    (the story page: :data:`SOURCES_SHOWN`) the first ones and those the summary quotes
    (:func:`_shown_sources`), so a story of a thousand reports costs what the page shows;
    ``sources_total`` counts them all; ``sources_url`` and ``sources_api_url`` (None when every
    one is listed) are the page and the API that list them all."""
    rows = queries.story_articles(store, story_id)
    data = story_view(store, story_id, include_hidden=include_hidden, rows=rows)
    if data is None:
        return None
    resolved = registry.resolve(store)
    update = None
    if since:
        by_id = {r["id"]: r for r in rows}
        update = _decorate_update(follow.update(store, story_id, since), by_id)
    history = [{"story_id": m["old_id"], "merged_at": m["merged_at"], "reason": m["reason"]}
               for m in queries.merged_into(store, story_id)]
    shown = data["sources"]
    if sources_limit is not None:
        cited = {s["article_id"] for s in data["summary"]["sentences"]} | {h["article_id"] for h in data["headlines"]}
        shown = _shown_sources(shown, cited, sources_limit)
    complete = len(shown) == len(data["sources"]) and all(
        len(a["reprints"]) == a.get("reprint_count", len(a["reprints"])) for a in shown)
    return {
        **data,
        "new_since": update,
        "summary": {**data["summary"], "sentences": [_linked(s) for s in data["summary"]["sentences"]]},
        "headlines": [_linked(h) for h in data["headlines"]],
        "sources": [_linked_source(a) for a in shown],
        "sources_total": len(data["sources"]),
        "sources_url": None if complete else f"/stories/{story_id}/sources",
        "sources_api_url": None if complete else f"/api/stories/{story_id}/sources",
        "coverage_by_outlet": [{**o, "url": outlet_path(o["name"]), **_described(resolved.get(o["name"]))}
                               for o in data["coverage_by_outlet"]],
        "missing": _missing(store, data["timeline"], resolved),
        "feeds": {"atom": f"/stories/{story_id}/feed.atom", "json": f"/stories/{story_id}/feed.json"},
        "terms": vector_terms(store, story_id),
        "related": _related(store, story_id), "merged_from": history,
        "editorial_log": _undoable(editorial_log(store, limit=20, story_id=story_id)),
        "headline_history": headline_history(store, story_id),
        "about_url": f"/stories/{story_id}/about",
    }


def story_sources(store: SQLiteStore, story_id: str, *, page: Page = Page(limit=SOURCES_PAGE),
                  include_hidden: bool = False) -> dict[str, Any] | None:
    """Every original report of a story with all its reprints, a page at a time (the story page
    lists only the first :data:`SOURCES_SHOWN`); None as :func:`story`."""
    card = queries.story_cards(store, [story_id]).get(story_id)
    rows = queries.story_articles(store, story_id)
    if card is None or not rows or (is_hidden(store, story_id) and not include_hidden):
        return None
    originals = report_list(rows)
    part = originals[page.offset:page.offset + page.limit]
    return {**story_cards(store, [card])[0],
            "sources": [_linked_source(a) for a in part],
            **_pages(page, len(originals))}


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


# -- why each article is in the story: the clusterer's own evidence (storyline.evidence) --------
def _jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


ABOUT_METHOD = {
    "clusterer state": ("The story as the clusterer holds it in the engine's saved state: its centroid's heaviest "
                        "terms, and the names and figures at least half its reports name. For each report, "
                        "similarity is the cosine between its own term vector and that centroid, and shared terms "
                        "are its heaviest terms the centroid also holds; reprints are matched by content hash "
                        "(exact) or word-trigram overlap (near)"),
    "story vector": ("The story is no longer open in the clusterer's saved state; its terms are the ones the engine "
                     "stored when it last refreshed the story (the same article representation). Reprints are "
                     "matched by content hash (exact) or word-trigram overlap (near)"),
    None: "Nothing of the clusterer's is stored for this story yet. Reprints are matched by content hash (exact) "
          "or word-trigram overlap (near)",
}


ABOUT_PAGE = 50  # original reports per about page


def about(store: SQLiteStore, story_id: str, page: Page = Page(limit=ABOUT_PAGE)) -> dict[str, Any] | None:
    """Why each article is in a story, as the engine saved it: the story's centroid terms, core
    names and figures, each report's similarity to that centroid and shared terms
    (:func:`storyline.evidence.story_evidence`), and for reprints, how closely they copy their
    original; ``page``'s slice of the original reports (earliest first: ``articles``, with
    ``total``, ``offset``, ``limit``, ``next_offset``, ``prev_offset``)."""
    rows = queries.story_articles(store, story_id)
    data = story_view(store, story_id, rows=rows)
    if data is None:
        return None
    evidence = story_evidence(store, story_id)
    by_id = {r["id"]: r for r in rows}
    reprints: dict[str, list[sqlite3.Row]] = {}
    for c in rows:
        if c["canonical_id"] != c["id"]:
            reprints.setdefault(c["canonical_id"], []).append(c)
    originals = [r for r in rows if r["canonical_id"] == r["id"]]
    items = []
    for r in originals[page.offset:page.offset + page.limit]:
        copies = []
        for c in reprints.get(r["id"], ()):
            exact = c["content_hash"] == r["content_hash"]
            copies.append({**_article_link(c), "match": "exact copy" if exact else "near copy",
                           "jaccard": 1.0 if exact else round(_jaccard(f"{c['title']}\n{c['text']}",
                                                                       f"{r['title']}\n{r['text']}"), 3)})
        own = evidence["articles"].get(r["id"], {})
        items.append({**_article_link(r), "similarity": own.get("similarity"),
                      "shared_terms": [{"term": t} for t in own.get("shared_terms", [])],
                      "names": own.get("names", []), "figures": own.get("figures", []), "reprints": copies})
    orphans = [_article_link(r) for r in rows if r["canonical_id"] != r["id"] and r["canonical_id"] not in by_id]
    card = {k: v for k, v in data.items() if k not in ("summary", "sources", "timeline", "coverage_by_outlet")}
    return {**card, "evidence": {k: v for k, v in evidence.items() if k != "articles"}, "articles": items,
            "reprints_of_other_stories": orphans, "method": ABOUT_METHOD[evidence["source"]],
            **_pages(page, len(originals))}


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


__all__ = [
    "ABOUT_PAGE",
    "MAX_LIMIT",
    "SOURCES_PAGE",
    "SOURCES_SHOWN",
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
    "story_sources",
    "coverage_label",
    "story_card",
    "story_update",
    "top_stories",
]
