"""Headline choice: the title that agrees most with the rest of the story."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from ..models import Article
from ..text import content_words, split_sentences

_MAX_FALLBACK_WORDS = 20


class CentralTitleHeadliner:
    """Picks the input title sharing the most content words with the story's other items; with
    no titles, the first sentence of the most central text (trimmed to its first clause when
    long)."""

    name = "central-title.v1"

    def __call__(self, articles: Sequence[Article]) -> tuple[str, int | None]:
        if not articles:
            return "", None
        bags = [set(content_words(a.body)) for a in articles]
        story_df = Counter(w for bag in bags for w in bag)

        def agreement(i: int, words: set[str]) -> float:
            return sum(story_df[w] - (w in bags[i]) for w in words) / (len(words) ** 0.5 or 1.0)

        titled = [i for i, a in enumerate(articles) if a.title.strip()]
        if titled:
            best = max(titled, key=lambda i: (agreement(i, set(content_words(articles[i].title))), -i))
            return articles[best].title.strip(), best
        best = max(range(len(articles)), key=lambda i: (agreement(i, bags[i]), -i))
        sentences = split_sentences(articles[best].text)
        first = sentences[0] if sentences else articles[best].text
        words = first.split()
        if len(words) > _MAX_FALLBACK_WORDS:
            first = " ".join(words[:_MAX_FALLBACK_WORDS]).rstrip(",;:") + "…"
        return first, best
