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
from typing import Any, Sequence

from ..models import Article
from .features import StoryView
from .scoring import LinearScorer, load_model

ITEM_FEATURES = (
    "title_cover", "title_cover_max", "item_cover", "item_cover_max", "title_cover_titles",
    "other_titles", "headline_only", "log_words", "shared_words",
)


def item_features(view: StoryView) -> list[list[float]]:
    """One row per item (all items, members or not), columns as in :data:`ITEM_FEATURES`.

    All are shares or small counts that do not grow with the number of items, so a story of
    three articles and one of twenty one-sentence items are described alike.
    """
    n = len(view.articles)
    rows = []
    for i in range(n):
        rest: set[str] = set()
        rest_titles: set[str] = set()
        title, item = view.title_bags[i] or view.item_bags[i], view.item_bags[i]
        title_max = item_max = 0.0
        for j in range(n):
            if j != i:
                rest |= view.item_bags[j]
                rest_titles |= view.title_bags[j]
                title_max = max(title_max, len(title & view.item_bags[j]) / (len(title) or 1))
                item_max = max(item_max, len(item & view.item_bags[j]) / (len(item) or 1))
        rows.append([
            len(title & rest) / (len(title) or 1),
            title_max,
            len(item & rest) / (len(item) or 1),
            item_max,
            len(title & rest_titles) / (len(title) or 1),
            float(bool(rest_titles)),
            float(view.articles[i].headline_only),
            math.log1p(len(item)),
            float(min(len(item & rest), 10)),
        ])
    return rows


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
