"""What the learned models know about a story: content-word bags per item and candidate sentences
(words: :mod:`storyline.text.tokens`; title trimming: :mod:`storyline.text.titles`).

Everything here is computed from the story alone (no corpus statistics), in pure Python; the
training script (``scripts/train_summarizer.py``) and the summarizers share it, so the two cannot
drift apart.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from typing import Sequence

from ..models import Article
from ..text import content_words, split_sentences
from ..text.titles import trim_title  # noqa: F401 - its home moved; importable here as before


def bag(text: str) -> list[str]:
    """Stemmed content words of ``text`` in reading order
    (:func:`storyline.text.content_words` with ``stemmed=True``)."""
    return content_words(text, stemmed=True)


@dataclass(slots=True)
class StoryView:
    """A story's items as word bags: ``title_bags``/``text_bags``/``item_bags`` (both) per
    article, ``df`` the number of member items containing each word, and each article's
    ``sentences``; items not in ``members`` contribute nothing."""

    articles: Sequence[Article]
    members: list[int]
    title_bags: list[set[str]] = field(default_factory=list)
    item_bags: list[set[str]] = field(default_factory=list)
    df: Counter[str] = field(default_factory=Counter)
    text_bags: list[set[str]] = field(default_factory=list)
    sentences: list[list["Sentence"]] = field(default_factory=list)

    @classmethod
    def build(cls, articles: Sequence[Article], members: Sequence[int] | None = None) -> "StoryView":
        title_bags = [set(bag(a.title)) for a in articles]
        sentences = [article_sentences(a.text, i) for i, a in enumerate(articles)]
        text_bags = [_text_bag(a.text, s) for a, s in zip(articles, sentences)]
        item_bags = [t | x for t, x in zip(title_bags, text_bags)]
        view = cls(articles, [], title_bags, item_bags, text_bags=text_bags, sentences=sentences)
        return view.with_members(range(len(articles)) if members is None else members)

    def with_members(self, members: Sequence[int]) -> "StoryView":
        """The same items (bags reused, not recomputed) with only ``members`` counted."""
        view = StoryView(self.articles, list(members), self.title_bags, self.item_bags,
                         text_bags=self.text_bags, sentences=self.sentences)
        for i in view.members:
            view.df.update(view.item_bags[i])
        return view

    def others(self, i: int, words: set[str] | list[str]) -> float:
        """Share of ``words`` found in member items other than ``i`` (counted per item)."""
        n_other = len(self.members) - (i in self.members)
        if not words or n_other <= 0:
            return 0.0
        found = sum(map(self.df.get, words, repeat(0)))
        if i in self.members:  # its own uses do not count
            found -= sum(map(self.item_bags[i].__contains__, words))
        return found / (len(words) * n_other)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A candidate sentence with its words (``stems``: stemmed content words, as a set)."""

    text: str
    article: int
    position: int
    words: int
    stems: frozenset[str]


def article_sentences(text: str, article: int) -> list[Sentence]:
    """Every sentence of one article's ``text``, in reading order."""
    return [Sentence(s, article, j, len(s.split()), frozenset(bag(s))) for j, s in enumerate(split_sentences(text))]


def _text_bag(text: str, sentences: Sequence[Sentence]) -> set[str]:
    """``set(bag(text))``, from its sentences' words when they hold all of its non-space text
    (no dateline or fragment left out): tokens never cross the spaces between sentences."""
    if "".join(text.split()) == "".join("".join(s.text for s in sentences).split()):
        return set().union(*(s.stems for s in sentences))
    return set(bag(text))


def story_sentences(articles: Sequence[Article], members: Sequence[int], view: StoryView | None = None) -> list[Sentence]:
    """Every sentence of the member articles' texts, in article then reading order (taken from
    ``view`` when it has split them)."""
    if view is not None and view.sentences:
        return [s for i in members for s in view.sentences[i]]
    return [s for i in members for s in article_sentences(articles[i].text, i)]
