"""The summarizer protocol and the helpers every summarizer shares.

A summarizer takes a story's articles and a word budget and returns a :class:`Summary`: a
headline and sentences quoted verbatim from the articles, each naming the article it came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from ..ingest.dates import parse_date
from ..models import Article, Summary, SummarySentence
from ..text import split_sentences

DEFAULT_MAX_WORDS = 50


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of the story: where it sits and what it says."""

    text: str
    article: int  # index into the story's articles
    position: int  # index of the sentence within its article's text

    @property
    def words(self) -> int:
        return len(self.text.split())


def candidates(articles: Sequence[Article]) -> list[Candidate]:
    """Every sentence of every article's text, in article then reading order."""
    out = []
    for i, art in enumerate(articles):
        for j, sent in enumerate(split_sentences(art.text)):
            out.append(Candidate(sent, i, j))
    return out


def story_articles(story: Mapping[str, Any]) -> list[Article]:
    """The articles of a story cluster record (``{"id", "articles": [{"title", "text", ...}]}``);
    an article without an ``id`` gets ``<story id>-<index>``."""
    out = []
    for i, item in enumerate(story.get("articles") or []):
        item = item if isinstance(item, Mapping) else {}
        out.append(Article(
            id=str(item.get("id") or f"{story.get('id', '')}-{i}"), title=str(item.get("title") or ""),
            text=str(item.get("text") or ""), url=str(item.get("url") or ""), source=str(item.get("source") or ""),
            published=parse_date(item.get("published")),
        ))
    return out


def to_summary_sentences(chosen: Sequence[Candidate], articles: Sequence[Article]) -> list[SummarySentence]:
    return [
        SummarySentence(
            text=c.text, article=c.article, article_id=articles[c.article].id,
            source=articles[c.article].source, url=articles[c.article].url,
        )
        for c in chosen
    ]


def fill_budget(ranked: Sequence[Candidate], max_words: int) -> list[Candidate]:
    """Greedily take sentences in rank order while they fit in ``max_words``; a first sentence
    longer than the budget is skipped rather than cut, so every sentence stays verbatim."""
    chosen, used = [], 0
    for cand in ranked:
        if used + cand.words <= max_words:
            chosen.append(cand)
            used += cand.words
    return chosen


@runtime_checkable
class Summarizer(Protocol):
    """``summarizer(articles, max_words)`` -> Summary; ``name`` is recorded with the output."""

    name: str

    def __call__(self, articles: Sequence[Article], max_words: int = DEFAULT_MAX_WORDS) -> Summary: ...


def summarize_all(summarizer: Summarizer, stories: Sequence[Sequence[Article]],
                  max_words: int = DEFAULT_MAX_WORDS) -> list[Summary]:
    """``summarizer(articles, max_words)`` of each story: through its ``summarize_many`` when it
    has one (the same summaries, made together: :meth:`.learned.LearnedSummarizer.summarize_many`)."""
    many = getattr(summarizer, "summarize_many", None)
    if many is not None:
        return many(stories, max_words)  # type: ignore[no-any-return]
    return [summarizer(articles, max_words) for articles in stories]


@runtime_checkable
class Headliner(Protocol):
    """Chooses a story's headline; returns it and the index of the article it came from."""

    name: str

    def __call__(self, articles: Sequence[Article]) -> tuple[str, int | None]: ...
