"""Online nearest-story clustering over sparse word vectors with an inverted index.

Each story keeps a centroid of its articles' TF-IDF vectors (IDF from document frequencies seen
so far). A new article is compared only with stories that share one of its rarest words and
that were active within the time window; it joins the most similar one above ``threshold``
or opens a new story.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any, Sequence

from ..models import Article
from ..text import content_words
from .base import story_id_for

_QUERY_TERMS = 12


class OnlineCentroidClusterer:
    """Online TF-IDF centroid clustering (the first, simple clusterer)."""

    name = "centroid-tfidf.v1"

    def __init__(self, *, threshold: float = 0.18, window_days: float = 3.0) -> None:
        self.threshold = threshold
        self.window_days = window_days
        self.merges_: dict[str, str] = {}
        self.df_: Counter[str] = Counter()
        self.n_docs_ = 0
        self.centroids_: dict[str, Counter[str]] = {}
        self.sizes_: dict[str, int] = {}
        self.last_seen_: dict[str, float] = {}
        self.postings_: dict[str, set[str]] = defaultdict(set)

    def _vector(self, article: Article) -> dict[str, float]:
        tf = Counter(content_words(article.title) * 2 + content_words(article.text))
        vec = {w: (1 + math.log(c)) * math.log((self.n_docs_ + 1) / (self.df_[w] + 1) + 1) for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def _candidates(self, vec: dict[str, float], when: float | None) -> set[str]:
        top = sorted(vec, key=lambda w: (-vec[w], w))[:_QUERY_TERMS]
        found: set[str] = set()
        for w in top:
            found |= self.postings_.get(w, set())
        if when is not None:
            horizon = self.window_days * 86400
            found = {s for s in found if abs(when - self.last_seen_.get(s, when)) <= horizon}
        return found

    def _similarity(self, vec: dict[str, float], story: str) -> float:
        cen = self.centroids_[story]
        dot = sum(v * cen.get(w, 0.0) for w, v in vec.items())
        norm = math.sqrt(sum(v * v for v in cen.values())) or 1.0
        return dot / norm

    def consolidate(self) -> dict[str, str]:
        return {}

    def partial_fit(self, articles: Sequence[Article]) -> list[str]:
        out = []
        for art in articles:
            self.n_docs_ += 1
            words = set(content_words(art.body))
            self.df_.update(words)
            vec = self._vector(art)
            when = art.published.timestamp() if isinstance(art.published, datetime) else None
            scored = sorted(((self._similarity(vec, s), s) for s in self._candidates(vec, when)), reverse=True)
            if scored and scored[0][0] >= self.threshold:
                story = scored[0][1]
            else:
                story = story_id_for(art.id)
                self.centroids_[story] = Counter()
                self.sizes_[story] = 0
            self.centroids_[story].update(vec)
            self.sizes_[story] += 1
            if when is not None:
                self.last_seen_[story] = max(when, self.last_seen_.get(story, when))
            for w in vec:
                self.postings_[w].add(story)
            out.append(story)
        return out

    def get_state(self) -> dict[str, Any]:
        return {
            "df": dict(self.df_), "n_docs": self.n_docs_,
            "centroids": {s: dict(c) for s, c in self.centroids_.items()},
            "sizes": self.sizes_, "last_seen": self.last_seen_, "merges": self.merges_,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.df_ = Counter(state.get("df", {}))
        self.n_docs_ = int(state.get("n_docs", 0))
        self.centroids_ = {s: Counter(c) for s, c in state.get("centroids", {}).items()}
        self.sizes_ = dict(state.get("sizes", {}))
        self.last_seen_ = dict(state.get("last_seen", {}))
        self.merges_ = dict(state.get("merges", {}))
        self.postings_ = defaultdict(set)
        for s, c in self.centroids_.items():
            for w in c:
                self.postings_[w].add(s)
