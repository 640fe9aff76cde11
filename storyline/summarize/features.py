"""What the learned summarizer knows about a story: word bags per item and features per sentence.

Everything here is computed from the story alone (no corpus statistics), in pure Python, so a
three-article story costs well under a millisecond. :func:`sentence_features` returns one row per
candidate sentence in the column order of :data:`SENTENCE_FEATURES`; the training script
(``scripts/train_summarizer.py``) and the summarizer share it, so the two cannot drift apart.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from ..models import Article
from ..text import content_words, split_sentences

_CAPITALIZED = re.compile(r"(?<=\s)[A-Z][a-zA-Z'’.-]+")
_NUMBER = re.compile(r"\d")
_QUOTE = re.compile("[\"“”]")
_FIRST_PERSON = re.compile(r"\b(?:I|we|We|my|our|Our|My|us)\b")
_TERMINAL = re.compile(r"[.!?…][\"'”’)\]]*$")
_OUTLET_SUFFIX = re.compile(
    r"\s+(?:\|\s+[^|]{2,40}|[-–—]\s+(?:[A-Z][\w.&']*\s?){1,3}|[-–—]\s+\S+\.(?:com|net|org|co\.uk))$"
)
_TAG_PREFIX = re.compile(r"^(?:[A-Z]{3,}(?: [A-Z]{3,})?|Breaking|Watch|Exclusive|Opinion|Analysis|Live)\s*[:|]\s+")

SENTENCE_FEATURES = (
    "position", "is_first", "relative_position", "is_last", "words", "content_words",
    "agreement", "agreement_mass", "own_title_overlap", "titles_overlap", "centroid_cosine",
    "capitalized", "numbers", "has_quote", "starts_with_quote", "question", "terminal",
    "first_person", "article_sentences", "items", "article_agreement", "best_match_elsewhere",
    "is_longest_article", "article_rank",
)


def stem(word: str) -> str:
    """A deliberately light stemmer: plural and possessive endings off (``talks`` -> ``talk``)."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def bag(text: str) -> list[str]:
    """Stemmed content words of ``text`` in reading order."""
    return [stem(w) for w in content_words(text)]


@dataclass(slots=True)
class StoryView:
    """A story's items as word bags: ``title_bags``/``item_bags`` per article, ``df`` the number
    of member items containing each word; items not in ``members`` contribute nothing."""

    articles: Sequence[Article]
    members: list[int]
    title_bags: list[set[str]] = field(default_factory=list)
    item_bags: list[set[str]] = field(default_factory=list)
    df: Counter[str] = field(default_factory=Counter)

    @classmethod
    def build(cls, articles: Sequence[Article], members: Sequence[int] | None = None) -> "StoryView":
        view = cls(articles, list(range(len(articles))) if members is None else list(members))
        view.title_bags = [set(bag(a.title)) for a in articles]
        view.item_bags = [view.title_bags[i] | set(bag(a.text)) for i, a in enumerate(articles)]
        for i in view.members:
            view.df.update(view.item_bags[i])
        return view

    def others(self, i: int, words: set[str] | list[str]) -> float:
        """Share of ``words`` found in member items other than ``i`` (counted per item)."""
        n_other = len(self.members) - (i in self.members)
        if not words or n_other <= 0:
            return 0.0
        own = self.item_bags[i]
        return sum(self.df[w] - (w in own and i in self.members) for w in words) / (len(words) * n_other)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A candidate sentence with its words (``stems``: stemmed content words, as a set)."""

    text: str
    article: int
    position: int
    words: int
    stems: frozenset[str]


def story_sentences(articles: Sequence[Article], members: Sequence[int]) -> list[Sentence]:
    """Every sentence of the member articles' texts, in article then reading order."""
    out = []
    for i in members:
        for j, text in enumerate(split_sentences(articles[i].text)):
            out.append(Sentence(text, i, j, len(text.split()), frozenset(bag(text))))
    return out


def sentence_features(view: StoryView, sents: Sequence[Sentence]) -> list[list[float]]:
    """One feature row per sentence, columns as in :data:`SENTENCE_FEATURES`."""
    per_article = Counter(s.article for s in sents)
    words_per_article = Counter()
    for s in sents:
        words_per_article[s.article] += s.words
    longest = max(words_per_article.values(), default=0)
    centroid = view.df
    norm_c = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    titles: set[str] = set()
    for i in view.members:
        titles |= view.title_bags[i]
    art_agreement = {i: view.others(i, view.item_bags[i]) for i in per_article}
    ranked_articles = sorted(art_agreement, key=lambda i: -art_agreement[i])
    rows = []
    for s in sents:
        stems = s.stems
        n = len(stems)
        agreement = view.others(s.article, stems)
        best = 0.0
        for t in sents:
            if t.article != s.article and stems and t.stems:
                best = max(best, len(stems & t.stems) / len(stems | t.stems))
        own_title = view.title_bags[s.article]
        rows.append([
            float(min(s.position, 10)),
            float(s.position == 0),
            s.position / per_article[s.article],
            float(s.position == per_article[s.article] - 1),
            float(s.words),
            float(n),
            agreement,
            agreement * math.sqrt(n),
            len(stems & own_title) / (len(own_title) or 1),
            len(stems & titles) / (len(titles) or 1),
            sum(centroid[w] for w in stems) / (math.sqrt(n) * norm_c) if n else 0.0,
            float(len(_CAPITALIZED.findall(s.text))),
            float(len(_NUMBER.findall(s.text)) > 0),
            float(bool(_QUOTE.search(s.text))),
            float(s.text[:1] in "\"“'‘"),
            float(s.text.rstrip("\"'”’").endswith("?")),
            float(bool(_TERMINAL.search(s.text))),
            float(len(_FIRST_PERSON.findall(s.text))),
            float(per_article[s.article]),
            float(len(view.members)),
            art_agreement[s.article],
            best,
            float(words_per_article[s.article] == longest),
            float(ranked_articles.index(s.article)),
        ])
    return rows


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
