"""What the learned models know about a story: content-word bags per item, candidate sentences,
and light title trimming.

Everything here is computed from the story alone (no corpus statistics), in pure Python; the
training script (``scripts/train_summarizer.py``) and the summarizers share it, so the two cannot
drift apart.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Sequence

from ..models import Article
from ..text import STOPWORDS, split_sentences
from ..text.tokens import _WORD  # the tokens of storyline.text.content_words

_OUTLET_SUFFIX = re.compile(
    r"\s+(?:\|\s+[^|]{2,40}|[-–—]\s+(?:[A-Z][\w.&']*\s?){1,3}|[-–—]\s+\S+\.(?:com|net|org|co\.uk))$"
)
_TAG_PREFIX = re.compile(r"^(?:[A-Z]{3,}(?: [A-Z]{3,})?|Breaking|Watch|Exclusive|Opinion|Analysis|Live)\s*[:|]\s+")

@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A deliberately light stemmer: plural and possessive endings off (``talks`` -> ``talk``)."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_BAG_WORD: dict[str, str] = {}  # raw token -> its stemmed content word, or "" for a stopword; a cache


def _bag_word(raw: str) -> str:
    """:func:`stem` of the content word a raw token makes (as ``content_words``), "" if none."""
    w = raw.replace(".", "").casefold()
    word = stem(w) if w not in STOPWORDS and (len(w) > 1 or w.isdigit()) else ""
    if len(_BAG_WORD) > 1 << 17:
        _BAG_WORD.clear()
    _BAG_WORD[raw] = word
    return word


def bag(text: str) -> list[str]:
    """Stemmed content words of ``text`` in reading order (``stem`` of each of
    ``storyline.text.content_words(text)``; memoized per raw token)."""
    raw = _WORD.findall(text)
    words = list(map(_BAG_WORD.get, raw))
    if None in words:
        words = [_bag_word(r) if w is None else w for r, w in zip(raw, words)]
    return list(filter(None, words))


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


def trim_title(title: str) -> str:
    """Light headline trimming: a trailing outlet name (``"... - CNN"``, ``"... | Fox News"``)
    and a leading rubric (``"EXCLUSIVE: ..."``, ``"WATCH: ..."``) go; a title that would drop
    below four words is returned unchanged (only stripped of surrounding space)."""
    title = " ".join(title.split())
    m = _OUTLET_SUFFIX.search(title)
    if m and len(title[: m.start()].split()) >= 4:
        title = title[: m.start()].rstrip()
    m = _TAG_PREFIX.match(title)
    if m and len(title[m.end():].split()) >= 4:
        title = title[m.end():]
    return title
