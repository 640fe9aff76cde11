"""Turn stories into the JSON shapes of the command-line contract and into terminal text."""
from __future__ import annotations

from typing import Any, Sequence

from .models import Story


def _other_headlines(story: Story) -> list[dict[str, Any]]:
    """Other outlets' headlines for a story with no summary sentence (headline-only reports):
    ``{"text", "article", "article_id", "source", "url"}``, ``article`` indexing its articles."""
    summary = story.summary
    if summary is None or summary.sentences:
        return []
    from .summarize.headlines import other_headlines  # here: `storyline stories` imports this module, not the summarizer

    picks = other_headlines([(a.title, a.source) for a in story.articles], summary.headline)
    return [{"text": story.articles[i].title, "article": i, "article_id": story.articles[i].id,
             "source": story.articles[i].source, "url": story.articles[i].url} for i in picks]


def story_json(story: Story) -> dict[str, Any]:
    """``{"id", "headline", "summary", "size", "duplicates", "sentences", ...}`` for one story;
    each sentence's ``article`` indexes the story's ``articles`` list. A story without a summary
    sentence (its reports carry headlines only) lists other outlets' headlines in ``headlines``
    (:mod:`storyline.summarize.headlines`), never in its summary."""
    summary = story.summary
    return {
        "id": story.id,
        "headline": summary.headline if summary else "",
        "summary": summary.text if summary else "",
        "size": story.size,
        "duplicates": story.duplicates,
        "sentences": summary.to_dict()["sentences"] if summary else [],
        "headlines": _other_headlines(story),
        "outlets": story.outlets,
        "first_seen": story.first_seen.isoformat() if story.first_seen else None,
        "last_seen": story.last_seen.isoformat() if story.last_seen else None,
        "articles": [
            {"id": a.id, "title": a.title, "source": a.source, "url": a.url, "origin": a.origin,
             "published": a.published.isoformat() if a.published else None,
             "reprints": story.reprints.get(a.id, [])}
            for a in story.articles
        ],
        "summarizer": summary.summarizer if summary else "",
    }


def _counts(items: int, copies: int, outlets: int) -> str:
    counts = f"{items} item{'s' if items != 1 else ''}"
    if copies:
        counts += f", {copies} cop{'ies' if copies != 1 else 'y'} collapsed"
    if outlets:
        counts += f", {outlets} outlet{'s' if outlets != 1 else ''}"
    return counts


def stories_text(stories: Sequence[Story], *, limit: int | None = None) -> str:
    """A plain-text rendering of ``digest``'s stories: headline, counts, attributed sentences."""
    blocks = []
    for n, story in enumerate(stories[:limit] if limit else stories, start=1):
        s = story.summary
        lines = [f"{n}. {s.headline if s else '(untitled)'}",
                 f"   [{story.id}] {_counts(story.size, story.duplicates, len(story.outlets))}"]
        for sent in s.sentences if s else []:
            who = sent.source or f"item {sent.article + 1}"
            lines.append(f"   - {sent.text} ({who})")
        others = _other_headlines(story)
        if others:
            lines.append("   no sentence to quote; other headlines:")
            lines += [f"   - {h['text']} ({h['source'] or 'item ' + str(h['article'] + 1)})" for h in others]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def views_text(views: Sequence[dict[str, Any]]) -> str:
    """The same rendering of stored stories' view-models (:func:`storyline.view.story_view`), so
    the numbers are the ones the web and the API show (outlets include reprinting outlets)."""
    blocks = []
    for n, v in enumerate(views, start=1):
        lines = [f"{n}. {v['headline']}", f"   [{v['id']}] {_counts(v['reports'], v['reprints'], v['outlets'])}"]
        lines += [f"   - {x['text']} ({x['outlet'] or 'unknown outlet'})" for x in v["summary"]["sentences"]]
        if v["headlines"]:
            lines.append("   no sentence to quote; other headlines:")
            lines += [f"   - {x['text']} ({x['outlet'] or 'unknown outlet'})" for x in v["headlines"]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
