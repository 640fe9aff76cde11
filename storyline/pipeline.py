"""Stages 2-5 wired together: text -> duplicates -> stories -> synthesis.

:class:`Pipeline` holds one object per stage (each swappable) and is what ``digest``, ``ingest``
and the store call. It is incremental: ``add`` feeds articles through dedup and clustering in
arrival order; ``stories`` builds synthesized stories from everything seen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .cluster import Clusterer, default_clusterer, resolve
from .config import Settings
from .dedup import Deduplicator, MinHashDeduplicator
from .models import Article, Story
from .summarize import Summarizer, default_summarizer
from .text import clean_text, detect_language


def prepare(article: Article) -> Article:
    """Text stage: normalize title and text and fill in the language."""
    article.title = clean_text(article.title)
    article.text = clean_text(article.text)
    if not article.language:
        article.language = detect_language(article.body)
    return article


def arrival_order(articles: Sequence[Article]) -> list[Article]:
    """Articles by ``published``, ties and undated items in the order given (undated first)."""
    if not any(a.published for a in articles):
        return list(articles)
    def key(pair: tuple[int, Article]) -> tuple[float, int]:
        i, a = pair
        return (a.published.timestamp() if a.published else float("-inf"), i)

    return [a for _, a in sorted(enumerate(articles), key=key)]


@dataclass
class Pipeline:
    """The engine's stages for one stream of articles."""

    settings: Settings = field(default_factory=Settings)
    dedup: Deduplicator | None = None
    clusterer: Clusterer | None = None
    summarizer: Summarizer | None = None
    articles_: dict[str, Article] = field(default_factory=dict)
    canonical_: dict[str, str] = field(default_factory=dict)
    story_of_: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dedup is None:
            self.dedup = MinHashDeduplicator(
                threshold=self.settings.dedup_threshold, num_perm=self.settings.dedup_num_perm
            )
        if self.clusterer is None:
            self.clusterer = default_clusterer(self.settings)
        if self.summarizer is None:
            self.summarizer = default_summarizer()
        for stage, proto in ((self.dedup, Deduplicator), (self.clusterer, Clusterer), (self.summarizer, Summarizer)):
            if not isinstance(stage, proto):
                raise TypeError(f"{type(stage).__name__} does not implement {proto.__name__}")

    def add(self, articles: Iterable[Article]) -> list[str]:
        """Feed articles in arrival order; returns the story id of each."""
        batch = [prepare(a) for a in articles if a.id not in self.articles_]
        assert self.dedup is not None and self.clusterer is not None
        result = self.dedup.partial_fit(batch)
        originals = []
        for art, canon in zip(batch, result.canonical):
            self.articles_[art.id] = art
            self.canonical_[art.id] = canon
            if canon == art.id:
                originals.append(art)
        for art, story in zip(originals, self.clusterer.partial_fit(originals)):
            self.story_of_[art.id] = story
        return [self.story_id(a.id) for a in batch]

    def finish(self) -> None:
        """End of input: let the clusterer merge stories that turned out to be one."""
        assert self.clusterer is not None
        self.clusterer.consolidate()

    def story_id(self, article_id: str) -> str:
        assert self.clusterer is not None
        canon = self.canonical_.get(article_id, article_id)
        return resolve(self.story_of_[canon], self.clusterer.merges_)

    def stories(self, *, summarize: bool = True, max_words: int | None = None) -> list[Story]:
        """Every story, biggest first (ties: earliest first seen, then id)."""
        by_story: dict[str, Story] = {}
        for art_id, art in self.articles_.items():
            story = by_story.setdefault(self.story_id(art_id), Story(id=self.story_id(art_id)))
            canon = self.canonical_[art_id]
            if canon == art_id:
                story.articles.append(art)
            else:
                story.reprints.setdefault(canon, []).append(art_id)
        out = list(by_story.values())
        if summarize:
            assert self.summarizer is not None
            budget = max_words or self.settings.max_words
            for story in out:
                story.summary = self.summarizer(story.articles, budget)
        out.sort(key=lambda s: (-(s.size + s.duplicates), -s.size, s.id))
        return out


def digest(articles: Sequence[Article], settings: Settings | None = None, **stages: object) -> list[Story]:
    """One-shot: group ``articles`` into summarized stories, biggest first."""
    pipe = Pipeline(settings or Settings(), **stages)  # type: ignore[arg-type]
    pipe.add(arrival_order(articles))
    pipe.finish()
    return pipe.stories()
