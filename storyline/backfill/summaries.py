"""Story summaries of a backfill, computed on executors; the driver only writes them.

After a live write the engine refreshes each dirty story on the one writer
(``Engine.refresh_stories``: the summarizer over the story's originals, then the story's vector
for related stories). For a backfill of thousands of stories that loop was the driver's longest
stage, so here the same work runs on executors, one task per partition of stories:

1. :class:`StorySummaries` (executor): for each story, its originals as the store will hold
   them (:func:`as_stored`, in arrival order) and its reprints, then the product's summarizer
   and the related-stories vector row — the calls ``refresh_stories`` makes.
2. :func:`save_summaries` (driver): streams the results in chunks; a result is written only when
   the story's members in the store are exactly the members it was computed from (a backfill
   into a store that already holds some of the articles may have them elsewhere); pinned
   headlines are applied and the headline history recorded, as ``refresh_stories`` does. Any story
   still dirty afterwards (none, normally) is refreshed by the engine itself.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import islice
from typing import Any, Iterable, Iterator

from ..config import Settings
from ..ingest.dates import parse_date
from ..models import Article, Story, Summary
from ..store.base import iso

_CHUNK = 64  # stories per transaction (as refresh_stories), and summarized together on an executor
Members = tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]  # originals in order; reprints
Computed = tuple[Story, Summary, tuple[Any, ...]]  # light story, its summary, its story_vectors row


def as_stored(art: Article) -> Article:
    """``art`` as ``store.insert_articles`` writes it and ``row_article`` reads it back."""
    return replace(art, published=parse_date(iso(art.published)), fetched_at=parse_date(iso(art.fetched_at)),
                   fetched_url=art.fetched_url or art.url)


def light(story: Story) -> Story:
    """``story`` with its originals reduced to what the driver's writes read (id, outlet, date):
    the counts ``save_stories`` stores and the dates ``record_headline`` uses."""
    return Story(id=story.id, articles=[Article(id=a.id, source=a.source, published=a.published,
                                                content_hash=a.content_hash) for a in story.articles],
                 reprints=story.reprints)


def members_of(story: Story) -> Members:
    return (tuple(a.id for a in story.articles),
            tuple(sorted((k, tuple(v)) for k, v in story.reprints.items())))


_LOADED: dict[Settings, tuple[Any, Any]] = {}  # per executor process: summarizer and embedder load once


@dataclass(frozen=True)
class StorySummaries:
    """Picklable: ``(story id, [(order, article, canonical id)])`` -> ``(story id, members,
    summary, vector row)``, with the engine's summarizer and the related-stories embedder."""

    settings: Settings

    def _models(self) -> tuple[Any, Any]:
        loaded = _LOADED.get(self.settings)
        if loaded is None:
            from .. import related
            from ..summarize import default_summarizer

            loaded = _LOADED[self.settings] = (default_summarizer(), related.embedder_for(self))
        return loaded

    def __call__(self, stories: Iterable[tuple[str, Iterable[tuple[Any, Article, str]]]]) -> Iterator[Computed]:
        """Each story's result, :data:`_CHUNK` stories summarized together (``summarize_all``: the
        same summaries as one by one, made faster), so a partition's stories are held a chunk at a time."""
        from .. import related
        from ..summarize.base import summarize_all

        summarizer, embedder = self._models()
        built = (story for story in map(_story, stories) if story.articles)
        while chunk := list(islice(built, _CHUNK)):
            summaries = summarize_all(summarizer, [story.articles for story in chunk], self.settings.max_words)
            for story, summary in zip(chunk, summaries, strict=True):
                yield light(story), summary, related.vector_row(story, embedder)


def _story(item: tuple[str, Iterable[tuple[Any, Article, str]]]) -> Story:
    """A story from its ``(order, article, canonical id)`` rows: its originals as the store will
    hold them, in arrival order, and its reprints."""
    story_id, rows = item
    story = Story(id=story_id)
    for _, art, canonical in sorted(rows, key=lambda r: r[0]):
        if canonical == art.id:
            story.articles.append(as_stored(art))
        else:
            story.reprints.setdefault(canonical, []).append(art.id)
    return story


def _stored_members(store: Any, story_ids: list[str]) -> dict[str, Members]:
    """Each story's members in the store (ids only, in arrival order)."""
    out: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
    marks = ",".join("?" * len(story_ids))
    for row in store.db.execute(f"SELECT id, canonical_id, story_id FROM articles WHERE story_id IN ({marks}) ORDER BY seq",
                                story_ids).fetchall():
        originals, reprints = out.setdefault(row[2], ([], {}))
        if row[1] == row[0]:
            originals.append(row[0])
        else:
            reprints.setdefault(row[1], []).append(row[0])
    return {s: (tuple(o), tuple(sorted((k, tuple(v)) for k, v in r.items()))) for s, (o, r) in out.items()}


def save_summaries(engine: Any, computed: Iterable[Computed]) -> tuple[int, int]:
    """Write executor-computed summaries (see module doc); returns (written, refreshed on the driver)."""
    from .. import related

    store = engine.store

    def flush(chunk: list[Computed]) -> int:
        stored = _stored_members(store, [story.id for story, _, _ in chunk])
        # computed from other members than the store holds: left dirty, the engine refreshes it below
        done = [(story, summary, vector) for story, summary, vector in chunk if stored.get(story.id) == members_of(story)]
        if not done:
            return 0
        return int(engine._save_refreshed([story.id for story, _, _ in done], {story.id: story for story, _, _ in done},
                                          [(summary, vector) for _, summary, vector in done]))

    written = 0
    with engine.writing("backfill"):
        chunk: list[Computed] = []
        for item in computed:
            chunk.append(item)
            if len(chunk) >= _CHUNK:
                written, chunk = written + flush(chunk), []
        if chunk:
            written += flush(chunk)
        rest = engine.refresh_stories()  # anything still dirty (normally nothing)
        with store.transaction():  # the related lists the written vectors owe (storyline.related)
            related.refresh_pending(store)
    return written, rest


__all__ = ["StorySummaries", "as_stored", "light", "members_of", "save_summaries"]
