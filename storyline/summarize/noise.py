"""Which items of a story belong to it.

Clustering sometimes lets a stray item into a story — typically a headline with no text whose
words appear nowhere else in the story (the Walmart and wrestler lines of the Iraq specimen).
:class:`OffTopicDetector` scores each item by how much of its wording the other items share,
with a logistic model trained on stories with foreign headlines shuffled in, and returns the
indices of the items that belong. Members give the summary its sentences and headline; the rest
give nothing.
"""
from __future__ import annotations

import math
from collections import Counter
from itertools import chain
from typing import Any, Sequence

import numpy as np

from ..models import Article
from .features import StoryView
from .scoring import LinearScorer, load_model

_PAIRWISE = 64  # items up to which the most-shared counts are taken pair by pair
_CHUNK = 512  # rows per sparse product beyond that (memory: _CHUNK x items counts)
ITEM_FEATURES = (
    "title_cover", "title_cover_max", "item_cover", "item_cover_max", "title_cover_titles",
    "other_titles", "headline_only", "log_words", "shared_words",
)


def item_features(view: StoryView) -> list[list[float]]:
    """One row per item (all items, members or not), columns as in :data:`ITEM_FEATURES`.

    All are shares or small counts that do not grow with the number of items, so a story of
    three articles and one of twenty one-sentence items are described alike. Their cost grows
    with the story's words, not with the square of its items: a word of an item is shared with
    the rest when at least two items hold it (a story of 6,773 articles took 99 s when each item
    built the union of all the others; docs/scale.md).
    """
    n = len(view.articles)
    items, titles = view.item_bags, view.title_bags
    in_items: Counter[str] = Counter()
    in_titles: Counter[str] = Counter()
    for item, title in zip(items, titles):
        in_items.update(item)
        in_titles.update(title)
    titled = sum(1 for t in titles if t)
    heads = [titles[i] or items[i] for i in range(n)]
    title_max, item_max = _most_shared(heads, items), _most_shared(items, items)
    rows = []
    for i in range(n):
        title, item = heads[i], items[i]  # both are within items[i]: in the rest when 2+ items hold them
        shared = sum(1 for w in item if in_items[w] >= 2)
        rows.append([
            sum(1 for w in title if in_items[w] >= 2) / (len(title) or 1),
            title_max[i] / (len(title) or 1),
            shared / (len(item) or 1),
            item_max[i] / (len(item) or 1),
            sum(1 for w in title if in_titles[w] - (w in titles[i]) >= 1) / (len(title) or 1),
            float(titled - bool(titles[i]) >= 1),
            float(view.articles[i].headline_only),
            math.log1p(len(item)),
            float(min(shared, 10)),
        ])
    return rows


def _most_shared(bags: Sequence[set[str]], items: Sequence[set[str]]) -> list[int]:
    """For each ``bags[i]``: the most words it shares with any one other item (``items[j]``, j != i)."""
    n = len(items)
    if n <= _PAIRWISE:
        return [max((len(bags[i] & items[j]) for j in range(n) if j != i), default=0) for i in range(n)]
    column = {w: k for k, w in enumerate(set().union(*items))}  # a word no item holds shares nothing
    x, b = _incidence(items, column), _incidence(bags, column)
    out: list[int] = []
    for lo in range(0, n, _CHUNK):
        shared = (b[lo : lo + _CHUNK] @ x.T).toarray()
        shared[np.arange(len(shared)), np.arange(lo, lo + len(shared))] = 0  # not with itself
        out.extend(int(v) for v in shared.max(axis=1))
    return out


def _incidence(bags: Sequence[set[str]], column: dict[str, int]) -> Any:
    """One row per bag, a 1 in the ``column`` of each of its words that has one (a sparse int32
    matrix: what CountVectorizer(binary=True) made, without importing scikit-learn, 0.35 s)."""
    from scipy import sparse

    cols = [sorted(column[w] for w in bag if w in column) for bag in bags]
    indptr = np.cumsum([0] + [len(c) for c in cols])
    indices = np.fromiter(chain.from_iterable(cols), dtype=np.int32, count=int(indptr[-1]))
    return sparse.csr_matrix((np.ones(len(indices), dtype=np.int32), indices, indptr), shape=(len(bags), len(column)))


class OffTopicDetector:
    """Returns the indices of the items that belong to the story.

    Args:
        model: the exported logistic model (``{"weights", "bias", "mean", "scale"}``); by
            default the one in the packaged model file.
        threshold: probability of being foreign above which an item is left out.
    """

    name = "offtopic.v1"

    def __init__(self, model: dict[str, Any] | None = None, *, threshold: float | None = None) -> None:
        spec = model or load_model()["offtopic"]
        self.scorer = LinearScorer(**{k: spec[k] for k in ("weights", "bias", "mean", "scale")}, logistic=True)
        self.threshold = float(spec.get("threshold", 0.5) if threshold is None else threshold)

    def foreign_probability(self, view: StoryView) -> list[float]:
        """Probability that each item does not belong (0 for every item of a 1-item story)."""
        if len(view.articles) < 2:
            return [0.0] * len(view.articles)
        return [float(p) for p in self.scorer.predict(item_features(view))]

    def __call__(self, articles: Sequence[Article], view: StoryView | None = None) -> list[int]:
        view = view or StoryView.build(articles)
        probs = self.foreign_probability(view)
        members = [i for i, p in enumerate(probs) if p <= self.threshold]
        if not members:  # nothing agrees with anything: no basis to exclude
            return list(range(len(articles)))
        return members
