"""Article representations for story clustering.

An :class:`ArticleVector` holds what the clusterer compares: a sparse TF-IDF vector (title words
count twice, IDF from a small committed table learned on the training splits), a set of
named-entity-ish tokens (capitalized words and numbers), the title's own words, a dense static
embedding, the publication time, and the time cues the text names (weekdays, years, months).
"""
from __future__ import annotations

import gzip
import itertools
import json
import math
import operator
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..models import Article
from ..text import STOPWORDS, content_words
from ..text.embed import Embedder
from ..text.tokens import folded

MODELS_DIR = Path(__file__).parent / "models"
IDF_FILE = MODELS_DIR / "idf-news.v1.json.gz"

# Each pattern opens with the characters a match can start with (re then skips ahead to them) and
# checks what comes before after the first one: "(?<!\w.)" after a word character is "\b" before
# it, "(?<!^.)" is "(?<!^)". tests/test_cluster_features.py compares them with the plain forms they replace.
# capitalized words not opening a sentence, acronyms, multi-digit numbers:
#   (?<![.!?]\s)(?<!^)\b([A-Z][\w'’-]*[A-Za-z]|[A-Z]{2,}|\d[\d,.]*\d)
_CAPITALIZED = re.compile(r"([A-Z](?<![.!?]\s.)(?<!^.)(?<!\w.)(?:[\w'’-]*[A-Za-z]|[A-Z]+)"
                          r"|\d(?<![.!?]\s.)(?<!^.)(?<!\w.)[\d,.]*\d)")
# \b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b
_WEEKDAY = re.compile(r"(M(?<!\w.)onday|T(?<!\w.)(?:uesday|hursday)|W(?<!\w.)ednesday|F(?<!\w.)riday"
                      r"|S(?<!\w.)(?:aturday|unday))\b")
# \b(1[89]\d\d|20\d\d)\b
_YEAR = re.compile(r"(1(?<!\w.)[89]\d\d|2(?<!\w.)0\d\d)\b")
# \b(January|February|March|April|May|June|July|August|September|October|November|December|
#    Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b
_MONTH = re.compile(r"(J(?<!\w.)(?:anuary|une|uly|an|un|ul)|F(?<!\w.)(?:ebruary|eb)|M(?<!\w.)(?:arch|ay|ar)"
                    r"|A(?<!\w.)(?:pril|ugust|pr|ug)|S(?<!\w.)(?:eptember|ept?)|O(?<!\w.)(?:ctober|ct)"
                    r"|N(?<!\w.)(?:ovember|ov)|D(?<!\w.)(?:ecember|ec))\b")
# who and what figures: runs of two or more capitalized words ("Vincent Jackson", "Port Averill
# Terminal Operators Association"), and figures that are not years ("6.4", "3,400", "38")
#   \b[A-Z][\w'’-]*[A-Za-z](?:\s+(?:[A-Z][\w'’-]*[A-Za-z]|[A-Z]\.))+
#   (?<![\w.,])(\d+(?:[.,]\d+)*)(?![\w]|[.,]\d)
_NAME_RUN = re.compile(r"[A-Z](?<!\w.)[\w'’-]*[A-Za-z](?:\s+(?:[A-Z][\w'’-]*[A-Za-z]|[A-Z]\.))+")
_FIGURE = re.compile(r"(\d(?<![\w.,].)\d*(?:[.,]\d+)*)(?![\w]|[.,]\d)")
_MAX_TEXT_WORDS = 350
_MAX_TERMS = 80
_LOOSE_WORDS = 35


@dataclass(slots=True)
class ArticleVector:
    """One article as the clusterer sees it."""

    terms: dict[str, float]
    entities: dict[str, float]
    title: dict[str, float]
    dense: np.ndarray | None
    when: float | None
    short: bool
    words: int = 0
    top: list[str] = field(default_factory=list)
    loose: bool = False  # an undated headline or lone sentence (title or text, not both)
    days: frozenset[str] = frozenset()  # weekdays named in title and lead ("Tuesday")
    years: frozenset[str] = frozenset()  # years named ("2009")
    months: frozenset[str] = frozenset()  # months named, as three letters ("Feb")
    names: frozenset[str] = frozenset()  # who: multi-word capitalized names and their last words
    figures: frozenset[str] = frozenset()  # what figures: numbers named that are not years
    headline: bool = False  # a headline without a body (title, no text)
    lead_names: frozenset[str] = frozenset()  # names in the title and the text's first sentence (none without text)
    dots_: Any = field(default=None, repr=False, compare=False)  # its arrays in .dots.SparseDots (a cache)


class IdfTable:
    """Inverse document frequencies from a committed table (terms seen twice or more)."""

    def __init__(self, df: dict[str, int], n_docs: int) -> None:
        self.df = df
        self.n_docs = n_docs
        self.unseen = self.idf(1)

    @classmethod
    def load(cls, path: Path = IDF_FILE) -> "IdfTable":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        return cls(data["df"], int(data["n"]))

    def idf(self, df: int) -> float:
        return math.log((self.n_docs + 1) / (df + 1)) + 1.0

    def __getitem__(self, term: str) -> float:
        df = self.df.get(term)
        return self.unseen if df is None else self.idf(df)


@lru_cache(maxsize=1)
def default_idf() -> IdfTable:
    return IdfTable.load()


def heaviest(weights: dict[str, float], keep: int) -> list[str]:
    """The ``keep`` heaviest terms, heaviest first, ties by term: the order of a key of
    ``(-weight, term)``, as a stable sort by weight down of the terms in order (no Python call per
    term)."""
    return sorted(sorted(weights), key=weights.__getitem__, reverse=True)[:keep]


def _normalized(weights: dict[str, float], keep: int) -> dict[str, float]:
    if len(weights) > keep:
        weights = {w: weights[w] for w in heaviest(weights, keep)}
    values = list(weights.values())
    norm = math.sqrt(sum(map(operator.mul, values, values))) or 1.0
    return dict(zip(weights, map(operator.truediv, values, itertools.repeat(norm))))


_TF_WEIGHTS = [0.0] + [1.0 + math.log(c) for c in range(1, 64)]  # 1 + log(count), for counts below 64
_IDF_SEEN: list[Any] = [None, {}]  # the last table given to _idf_of and its memo


def _idf_of(idf: IdfTable, terms: Iterable[str]) -> dict[str, float]:
    """``idf[term]`` for each term (and others looked up before), memoized for the last table."""
    if _IDF_SEEN[0] is not idf or len(_IDF_SEEN[1]) > 1 << 16:
        _IDF_SEEN[:] = [idf, {}]
    seen: dict[str, float] = _IDF_SEEN[1]
    for term in itertools.filterfalse(seen.__contains__, terms):
        seen[term] = idf[term]
    return seen


def _tfidf(words: list[str], idf: IdfTable, keep: int) -> dict[str, float]:
    tf = Counter(words)  # terms in the order first seen
    weight = _idf_of(idf, tf)
    if tf and max(tf.values()) < len(_TF_WEIGHTS):
        tfs = map(_TF_WEIGHTS.__getitem__, tf.values())
    else:
        tfs = (1.0 + math.log(c) for c in tf.values())
    return _normalized(dict(zip(tf, map(operator.mul, tfs, map(weight.__getitem__, tf)))), keep)


def entity_tokens(text: str) -> list[str]:
    """Capitalized words (not opening a sentence), acronyms and multi-digit numbers, lowered."""
    found = _CAPITALIZED.findall(text)
    if not found:
        return []
    return list(itertools.filterfalse(STOPWORDS.__contains__, folded(found, ",")))


TIME_CUES = ("days", "years", "months")  # the ArticleVector / StoryState fields holding them


def time_cues(text: str) -> dict[str, frozenset[str]]:
    """The weekdays, years and months (as three letters) ``text`` names, by :data:`TIME_CUES` field."""
    return {"days": frozenset(_WEEKDAY.findall(text)), "years": frozenset(_YEAR.findall(text)),
            "months": frozenset(m[:3] for m in _MONTH.findall(text))}


def names_in(text: str) -> frozenset[str]:
    """Multi-word capitalized names (a sentence's opening stopwords dropped), lowered, with each
    name's last word on its own ("vincent jackson", "jackson"): who an event is about."""
    out = set()
    for run in _NAME_RUN.findall(text):
        words = run.split()
        while words and words[0].casefold() in STOPWORDS:
            words = words[1:]
        if len(words) >= 2:
            out.add(" ".join(words).casefold())
        if words:
            out.add(words[-1].casefold())
    return frozenset(out.difference(STOPWORDS))


def figures_in(text: str) -> frozenset[str]:
    """Numbers the text names, except years and single digits ("38", "6.4", "3400")."""
    out = set()
    for m in _FIGURE.finditer(text):
        n = m.group(1).replace(",", "")
        if len(n) >= 2 and not _YEAR.fullmatch(n):
            out.add(n)
    return frozenset(out)


def _lead(art: Article) -> str:
    """The title and the text's first sentence (at most 300 characters): who the report is about."""
    first = art.text[:300]
    cut = first.find(". ")
    return f"{art.title}\n{first[:cut + 1] if cut > 0 else first}"


def represent(articles: Sequence[Article], embedder: Embedder | None, idf: IdfTable | None = None) -> list[ArticleVector]:
    """Vectors for ``articles`` (dense embeddings computed in one call when an embedder is given)."""
    idf = idf or default_idf()
    out = []
    for art in articles:
        title_words = content_words(art.title)
        text_words = content_words(art.text)[:_MAX_TEXT_WORDS]
        terms = _tfidf(title_words * 2 + text_words, idf, _MAX_TERMS)
        head = f"{art.title}\n{art.text[:1500]}"
        ents = _tfidf(entity_tokens(head), idf, 40)
        title = _tfidf(title_words or text_words[:20], idf, 30)
        when = art.published.timestamp() if isinstance(art.published, datetime) else None
        words = len(title_words) + len(text_words)
        top = heaviest(terms, 8)
        loose = when is None and not (art.title.strip() and art.text.strip()) and words <= _LOOSE_WORDS
        out.append(ArticleVector(terms, ents, title, None, when, words < 30, words, top, loose, **time_cues(head),
                                 names=names_in(head), figures=figures_in(head),
                                 headline=bool(art.title.strip()) and not art.text.strip(),
                                 lead_names=names_in(_lead(art)) if art.text.strip() else frozenset()))
    if embedder is not None and out:
        dense = embedder.embed([f"{a.title}\n{a.text}".strip() for a in articles])
        for vec, row in zip(out, dense):
            vec.dense = row
    return out


def sparse_dot(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two sparse vectors. The key intersection runs in C (3x faster than a lookup
    per term), and ``fsum`` makes the result independent of the set's (hash-seeded) order."""
    return math.fsum([a[w] * b[w] for w in a.keys() & b.keys()])


def cue_match(a: frozenset[str] | set[str], b: set[str]) -> float:
    """Agreement of two sets of time cues (weekdays, years or months named in the text): +1 when
    both name some and share one, -1 when both name some and share none, 0 when either names none."""
    if not a or not b:
        return 0.0
    return 1.0 if a & b else -1.0


def share_of(weights: dict[str, float], total: float, other: dict[str, float] | dict[str, int]) -> float:
    """The weighted share of ``weights``' names (summing to ``total``) that ``other`` holds; 0 when none."""
    return math.fsum(map(weights.__getitem__, weights.keys() & other.keys())) / total if weights and other and total else 0.0


def who_shares(names: dict[str, float], names_total: float, story_names: dict[str, int], core: dict[str, float],
               core_total: float) -> tuple[float, float]:
    """How far an article and a story name the same participants: the weighted share of the
    article's names (``names``: name -> weight, summing to ``names_total``) the story names, and
    of the story's core names (named by at least half its members; ``core``, summing to
    ``core_total``) the article names; 0 when either names nobody."""
    if not names or not story_names:
        return 0.0, 0.0
    return share_of(names, names_total, story_names), share_of(core, core_total, names)


__all__ = ["names_in", "figures_in", "ArticleVector", "IdfTable", "default_idf", "heaviest", "represent", "entity_tokens", "sparse_dot", "cue_match", "share_of", "who_shares", "time_cues", "TIME_CUES", "MODELS_DIR"]
