"""The story view-model: what every interface shows of a stored story, built in one place.

:func:`story_view` builds a story's view-model (headline with the pinned-headline rule applied,
summary sentences with the report each was quoted from, counts, coverage wording, sources,
timeline) from the store; :func:`story_cards` builds the short form lists use, with the same
headline rule and the same counts. The JSON API, the story page, the story-list feeds, the
per-story feeds and ``storyline stories --json`` all render these dicts, so the numbers a reader
sees agree everywhere. The web adds links (``href``, outlet pages) and its own sections (related
stories, editorial history) on top; it never recounts.

Counts: ``reports`` are original reports, ``reprints`` the copies collapsed into them, and
``outlets`` every outlet that carried the story, reprinting outlets included (so it equals the
length of ``coverage_by_outlet``). ``storyline digest`` (no store) keeps its own contract shape
(:mod:`storyline.output`).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .store import queries
from .store.editorial import is_hidden, pinned_headlines, shown_headline

Row = Mapping[str, Any]
UNTITLED = "Story without a title"


def _count(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def coverage_label(outlets: int, reports: int, reprints: int) -> str:
    """The one wording of a story's coverage, used by every page, the API and the feeds:
    ``"8 outlets · 6 original reports, 5 reprints"`` (outlets count reprinting outlets too)."""
    return f"{_count(outlets, 'outlet')} · {_count(reports, 'original report')}, {_count(reprints, 'reprint')}"


def _summary(row: Row) -> dict[str, Any]:
    return json.loads(row["summary"]) if row["summary"] else {}


def _one_line(summary: dict[str, Any]) -> str:
    sentences = summary.get("sentences") or []
    return str(sentences[0]["text"]) if sentences else str(summary.get("summary", ""))


def _computed_headline(row: Row, summary: dict[str, Any]) -> str:
    """The stored headline; a story with none is named by its first summary sentence."""
    if row["headline"]:
        return str(row["headline"])
    words = _one_line(summary).split()
    return " ".join(words[:14]) + ("…" if len(words) > 14 else "") if words else UNTITLED


def story_card(row: Row, pinned: str | None) -> dict[str, Any]:
    """The short form of a story (lists, search results, the head of :func:`story_view`) from a
    story row of :mod:`storyline.store.queries` and the story's pinned headline, if any."""
    summary = _summary(row)
    reports, reprints, outlets = int(row["size"]), int(row["duplicates"]), int(row["outlets"])
    return {
        "id": row["id"], "headline": shown_headline(_computed_headline(row, summary), pinned),
        "pinned": pinned is not None, "summary": _one_line(summary),
        "reports": reports, "reprints": reprints, "outlets": outlets,
        "coverage": coverage_label(outlets, reports, reprints),
        "first_seen": row["first_seen"], "last_seen": row["last_seen"], "updated_at": row["updated_at"],
        "url": f"/stories/{row['id']}", "api_url": f"/api/stories/{row['id']}",
    }


def story_cards(store: Any, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """:func:`story_card` of each story row, pins read in one query."""
    pins = pinned_headlines(store, [r["id"] for r in rows])
    return [story_card(r, pins.get(r["id"])) for r in rows]


def _link(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "outlet": row["source"], "url": row["url"],
            "published": row["published"]}


def report_list(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Original reports in order, each with the reprints of it."""
    copies: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["canonical_id"] != r["id"]:
            copies.setdefault(r["canonical_id"], []).append(_link(r))
    return [{**_link(r), "language": r["language"], "reprints": copies.get(r["id"], [])}
            for r in rows if r["canonical_id"] == r["id"]]


def _coverage(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Every outlet that carried the story with its original reports and reprints, most first."""
    counts: dict[str, list[int]] = {}
    for r in rows:
        if r["source"]:
            counts.setdefault(r["source"], [0, 0])[r["canonical_id"] != r["id"]] += 1
    return [{"name": name, "reports": c[0], "reprints": c[1]}
            for name, c in sorted(counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))]


def _other_headlines(originals: Sequence[Row], headline: str) -> list[dict[str, Any]]:
    """Other outlets' headlines for a story with no summary sentence
    (:mod:`storyline.summarize.headlines`), each with its report."""
    if len(originals) < 2:
        return []
    from .summarize.headlines import other_headlines  # here: the text stage loads numpy, which `storyline stories` need not

    picks = other_headlines([(r["title"], r["source"]) for r in originals], headline)
    return [{"text": originals[i]["title"], "article_id": originals[i]["id"], "outlet": originals[i]["source"],
             "article_title": originals[i]["title"], "url": originals[i]["url"]} for i in picks]


def _sentences(summary: dict[str, Any], by_id: Mapping[str, Row]) -> list[dict[str, Any]]:
    """The summary's sentences, each with the report it was quoted from (as stored now)."""
    out = []
    for s in summary.get("sentences") or []:
        row = by_id.get(s.get("article_id", ""))
        out.append({"text": s.get("text", ""), "article_id": s.get("article_id", ""),
                    "outlet": row["source"] if row is not None else s.get("source", ""),
                    "article_title": row["title"] if row is not None else "",
                    "url": row["url"] if row is not None else s.get("url", "")})
    return out


def story_view(store: Any, story_id: str, *, include_hidden: bool = False,
               rows: Sequence[Row] | None = None) -> dict[str, Any] | None:
    """The view-model of one story: :func:`story_card` plus ``summary {text, sentences, summarizer}``,
    ``headline_only`` (no original report has text), ``headlines`` (other outlets' headlines when
    the summary has no sentence, :mod:`storyline.summarize.headlines`), ``sources``,
    ``outlet_names``, ``coverage_by_outlet``, ``timeline`` and ``hidden``. ``rows``: the story's
    articles (:func:`queries.story_articles`), when the caller has read them already.

    Returns:
        None when ``story_id`` is not a current story with articles, or is hidden (unless
        ``include_hidden``).
    """
    row = queries.story_cards(store, [story_id]).get(story_id)
    rows = queries.story_articles(store, story_id) if rows is None else rows
    hidden = is_hidden(store, story_id)
    if row is None or not rows or (hidden and not include_hidden):
        return None
    summary = _summary(row)
    sentences = _sentences(summary, {r["id"]: r for r in rows})
    card = story_cards(store, [row])[0]
    originals = [r for r in rows if r["canonical_id"] == r["id"]]
    return {
        **card,
        "summary": {"text": " ".join(s["text"] for s in sentences), "sentences": sentences,
                    "summarizer": summary.get("summarizer", "")},
        "headline_only": not any(r["text"] for r in originals),
        "headlines": [] if sentences else _other_headlines(originals, card["headline"]),
        "sources": report_list(rows),
        "outlet_names": sorted({r["source"] for r in rows if r["source"]}),
        "coverage_by_outlet": _coverage(rows),
        "timeline": [{"time": r["published"], "outlet": r["source"], "article_id": r["id"],
                      "kind": "original" if r["canonical_id"] == r["id"] else "reprint"} for r in rows],
        "hidden": hidden,
    }


__all__ = ["coverage_label", "report_list", "story_card", "story_cards", "story_view"]
