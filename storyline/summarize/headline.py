"""Headline choice: the central title (baseline) or a learned choice among member titles."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Sequence

from ..models import Article
from ..text import content_words, split_sentences

if TYPE_CHECKING:
    from .features import StoryView

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


HEADLINE_FEATURES = (
    "agreement", "title_agreement", "words", "content_words", "question", "colon", "quote",
    "exclamation", "capitalized_share", "trimmed", "article_agreement", "text_overlap",
    "agreement_rank", "titles", "headline_only", "first_person",
)


def headline_features(view: "StoryView", titled: Sequence[int]) -> list[list[float]]:
    """One row per titled member item, columns as in :data:`HEADLINE_FEATURES`."""
    from .features import bag, trim_title

    agreement = {i: view.others(i, view.title_bags[i]) for i in titled}
    rank = sorted(titled, key=lambda i: -agreement[i])
    rows = []
    for i in titled:
        raw = view.articles[i].title.strip()
        title = trim_title(raw)
        words = title.split()
        stems = view.title_bags[i]
        other_titles: set[str] = set()
        for j in titled:
            if j != i:
                other_titles |= view.title_bags[j]
        text_bag = set(bag(view.articles[i].text))
        rows.append([
            agreement[i],
            len(stems & other_titles) / (len(stems) or 1),
            float(len(words)),
            float(len(stems)),
            float("?" in title),
            float(":" in title),
            float(any(q in title for q in "\"“”'‘’")),
            float("!" in title),
            sum(w[:1].isupper() for w in words) / (len(words) or 1),
            float(title != raw),
            view.others(i, view.item_bags[i]),
            len(stems & text_bag) / (len(stems) or 1),
            float(rank.index(i)),
            float(len(titled)),
            float(view.articles[i].headline_only),
            float(any(w in ("I", "We", "we", "My", "my", "Our", "our") for w in words)),
        ])
    return rows


class LearnedHeadliner:
    """Picks the member title a learned model expects to read most like an editor's neutral
    headline (trained on NeuS: features of agreement with the other items, length, punctuation)
    and trims outlet names and rubrics from it. Items judged off-topic are never used; with no
    titles, the summary's best sentence stands in (first clause when long)."""

    name = "learned-title.v1"

    def __init__(self, model: "dict[str, object] | None" = None) -> None:
        from .scoring import load_model, scorer_from_dict

        self.scorer = scorer_from_dict(model or load_model()["headline"])  # type: ignore[arg-type]

    def choose(self, view: "StoryView", fallback: Sequence[tuple[str, int]] = ()) -> tuple[str, int | None]:
        """Headline from ``view``'s member titles, else the first of ``fallback`` (text, article)."""
        from .features import trim_title

        titled = [i for i in view.members if view.articles[i].title.strip()]
        if titled:
            scores = self.scorer.predict(headline_features(view, titled))
            best = max(range(len(titled)), key=lambda k: (float(scores[k]), -k))
            return trim_title(view.articles[titled[best]].title), titled[best]
        for text, article in fallback:
            return _shorten(text), article
        return "", None

    def __call__(self, articles: Sequence[Article]) -> tuple[str, int | None]:
        from .features import StoryView
        from .noise import OffTopicDetector

        view = StoryView.build(articles)
        view = StoryView.build(articles, OffTopicDetector()(articles, view))
        fallback = [(s, i) for i in view.members for s in split_sentences(articles[i].text)[:1]]
        return self.choose(view, fallback)


def _shorten(sentence: str) -> str:
    words = sentence.split()
    if len(words) <= _MAX_FALLBACK_WORDS:
        return sentence
    return " ".join(words[:_MAX_FALLBACK_WORDS]).rstrip(",;:") + "…"
