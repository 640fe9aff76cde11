"""The default online story clusterer: retrieve candidate stories, score them with a small
learned model on similarity features, join the best one or open a new story; merge stories that
turn out to be one.

Per article: (1) represent it (TF-IDF, entities, title words, static embedding); (2) collect
candidate stories from the inverted index (its rarest, heaviest terms) and the dense index (top-k
by embedding), open stories only; (3) compute :data:`FEATURES` against each candidate and score
them with :class:`JoinModel` (a logistic model trained by ``scripts/train_clusterer.py``);
(4) join the best candidate when its probability clears ``join_threshold``, else open a story.
Items that match nothing well stay one-item stories. Every ``merge_every`` articles the stories
touched since the last pass are compared with their neighbours and merged into the older story
when the model is confident (``merge_threshold``), recorded in ``merges_``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..models import Article
from ..text.embed import Embedder, WordLlamaEmbedder
from .base import story_id_for
from .features import MODELS_DIR, ArticleVector, represent, sparse_dot
from .index import DenseStoryIndex, TermIndex

FEATURES = (
    "sparse_cos", "dense_cos", "entity_cos", "title_cos", "sparse_x_dense",
    "log_size", "short", "time_gap_days", "has_time", "rank_sparse", "best_margin",
)
MODEL_FILE = MODELS_DIR / "join-logit.v1.json"
_CENTROID_TERMS = 300  # terms kept per story centroid (the heaviest)


@dataclass
class StoryState:
    """What the clusterer remembers about one open story."""

    id: str
    size: int = 0
    terms: dict[str, float] = field(default_factory=dict)
    entities: dict[str, float] = field(default_factory=dict)
    title: dict[str, float] = field(default_factory=dict)
    dense: np.ndarray | None = None
    first: float | None = None
    last: float | None = None
    norms: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def add(self, vec: ArticleVector) -> None:
        self.size += 1
        for target, source in ((self.terms, vec.terms), (self.entities, vec.entities), (self.title, vec.title)):
            for w, v in source.items():
                target[w] = target.get(w, 0.0) + v
        if len(self.terms) > _CENTROID_TERMS * 1.5:
            self.terms = dict(sorted(self.terms.items(), key=lambda kv: -kv[1])[:_CENTROID_TERMS])
        if vec.dense is not None:
            self.dense = vec.dense.copy() if self.dense is None else self.dense + vec.dense
        if vec.when is not None:
            self.first = vec.when if self.first is None else min(self.first, vec.when)
            self.last = vec.when if self.last is None else max(self.last, vec.when)
        self.norms = tuple(math.sqrt(sum(v * v for v in d.values())) or 1.0 for d in (self.terms, self.entities, self.title))  # type: ignore[assignment]

    def absorb(self, other: "StoryState") -> None:
        self.size += other.size
        for target, source in ((self.terms, other.terms), (self.entities, other.entities), (self.title, other.title)):
            for w, v in source.items():
                target[w] = target.get(w, 0.0) + v
        if other.dense is not None:
            self.dense = other.dense.copy() if self.dense is None else self.dense + other.dense
        for t in (other.first, other.last):
            if t is not None:
                self.first = t if self.first is None else min(self.first, t)
                self.last = t if self.last is None else max(self.last, t)
        self.norms = tuple(math.sqrt(sum(v * v for v in d.values())) or 1.0 for d in (self.terms, self.entities, self.title))  # type: ignore[assignment]

    def unit_dense(self) -> np.ndarray | None:
        if self.dense is None:
            return None
        return self.dense / (float(np.linalg.norm(self.dense)) or 1.0)


class JoinModel:
    """Logistic model over :data:`FEATURES`: probability that an article belongs to a story."""

    def __init__(self, coef: Sequence[float], intercept: float, mean: Sequence[float], scale: Sequence[float]) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "JoinModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path} was trained on other features; rerun scripts/train_clusterer.py")
        return cls(data["coef"], data["intercept"], data["mean"], data["scale"])

    @classmethod
    def fallback(cls) -> "JoinModel":
        """A hand-set model (sparse and dense similarity only), used when no trained file exists."""
        coef = [12.0, 8.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        return cls(coef, -7.0, [0.0] * len(FEATURES), [1.0] * len(FEATURES))

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


class StoryClusterer:
    """Online story clustering with learned join decisions, candidate indexes and merges.

    Args:
        window_days: An article only joins stories seen within this many days (when dated).
        join_threshold: Minimum join probability; below it the article opens a story.
        merge_threshold: Minimum probability for merging two stories.
        merge_every: Articles between merge passes.
        max_open: Most stories kept open; the least recently updated close first.
        candidates: Stories retrieved from each index per article.
        embedder: Dense embedder (default: WordLlama's bundled static embeddings); ``None`` to
            use sparse features only.
        model: Join model (default: the committed trained model).
    """

    name = "story-logit.v1"

    def __init__(
        self,
        *,
        window_days: float = 3.0,
        join_threshold: float = 0.5,
        merge_threshold: float = 0.8,
        merge_every: int = 100,
        max_open: int = 50_000,
        candidates: int = 10,
        embedder: Embedder | None | str = "default",
        model: JoinModel | None = None,
    ) -> None:
        self.window_days = window_days
        self.join_threshold = join_threshold
        self.merge_threshold = merge_threshold
        self.merge_every = merge_every
        self.max_open = max_open
        self.candidates = candidates
        self.embedder: Embedder | None = WordLlamaEmbedder() if embedder == "default" else embedder  # type: ignore[assignment]
        if model is None:
            model = JoinModel.load() if MODEL_FILE.exists() else JoinModel.fallback()
        self.model = model
        self._reset()

    def _reset(self) -> None:
        self.merges_: dict[str, str] = {}
        self.stories_: dict[str, StoryState] = {}
        self.seen_ = 0
        self.touched_: list[str] = []
        self.clock_: float | None = None
        self.terms_ = TermIndex()
        self.dense_ = DenseStoryIndex(self.embedder.dim) if self.embedder is not None else None

    # -- candidates and features -------------------------------------------------------------

    def _open(self, story: StoryState, when: float | None) -> bool:
        if when is None or story.last is None:
            return True
        return abs(when - story.last) <= self.window_days * 86400

    def _candidates(self, vec: ArticleVector) -> list[str]:
        acc: dict[str, float] = {}
        for w in vec.top:
            a_w = vec.terms[w]
            for s in self.terms_.get(w):
                st = self.stories_[s]
                acc[s] = acc.get(s, 0.0) + a_w * st.terms.get(w, 0.0) / st.norms[0]
        found = sorted(acc, key=lambda s: (-acc[s], s))[: self.candidates]
        if self.dense_ is not None and vec.dense is not None:
            for s, _ in sorted(self.dense_.top(vec.dense, self.candidates), key=lambda p: (-p[1], p[0])):
                if s not in acc:
                    found.append(s)
        return [s for s in found if self._open(self.stories_[s], vec.when)]

    def _features(self, vec: ArticleVector, stories: list[str]) -> np.ndarray:
        rows = []
        for s in stories:
            st = self.stories_[s]
            sp = sparse_dot(vec.terms, st.terms) / st.norms[0]
            dn = 0.0
            if vec.dense is not None and st.dense is not None:
                dn = float(vec.dense @ st.dense) / (float(np.linalg.norm(st.dense)) or 1.0)
            en = sparse_dot(vec.entities, st.entities) / st.norms[1]
            ti = sparse_dot(vec.title, st.title) / st.norms[2]
            has_time = vec.when is not None and st.last is not None
            gap = abs(vec.when - st.last) / 86400 if has_time else 0.0  # type: ignore[operator]
            rows.append([sp, dn, en, ti, sp * dn, math.log1p(st.size), float(vec.short), min(gap, 30.0), float(has_time), 0.0, 0.0])
        x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
        if len(rows):
            order = np.argsort(-x[:, 0], kind="stable")
            x[order, 9] = np.arange(len(rows))
            x[:, 10] = x[:, 0] - np.sort(x[:, 0])[::-1][1 if len(rows) > 1 else 0]
        return x

    def score(self, vec: ArticleVector) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Candidate stories for ``vec``, their feature rows and join probabilities."""
        cands = self._candidates(vec)
        x = self._features(vec, cands)
        return cands, x, (self.model.predict(x) if len(cands) else np.zeros(0))

    # -- the stream ----------------------------------------------------------------------------

    def partial_fit(self, articles: Sequence[Article]) -> list[str]:
        out = []
        for art, vec in zip(articles, represent(articles, self.embedder)):
            cands, _, probs = self.score(vec)
            best = int(np.argmax(probs)) if len(cands) else -1
            if best >= 0 and probs[best] >= self.join_threshold:
                story = cands[best]
            else:
                story = story_id_for(art.id)
            out.append(story)
            self._add(story, vec)
        return out

    def _add(self, story: str, vec: ArticleVector) -> None:
        st = self.stories_.get(story)
        if st is None:
            st = self.stories_[story] = StoryState(story)
        old_terms = set(st.terms)
        st.add(vec)
        self.terms_.remove(story, old_terms - set(st.terms))
        self.terms_.add(story, [w for w in st.terms if w not in old_terms])
        if self.dense_ is not None and st.dense is not None:
            self.dense_.set(story, st.unit_dense())  # type: ignore[arg-type]
        self.touched_.append(story)
        self.seen_ += 1
        if vec.when is not None:
            self.clock_ = vec.when if self.clock_ is None else max(self.clock_, vec.when)
        if self.seen_ % self.merge_every == 0:
            self._merge_pass()
            self._close_old()

    # -- merges and closing ------------------------------------------------------------------

    def _story_vector(self, st: StoryState) -> ArticleVector:
        def unit(d: dict[str, float], n: float) -> dict[str, float]:
            return {w: v / n for w, v in d.items()}

        terms = unit(st.terms, st.norms[0])
        top = sorted(terms, key=lambda w: (-terms[w], w))[:12]
        return ArticleVector(terms, unit(st.entities, st.norms[1]), unit(st.title, st.norms[2]), st.unit_dense(), st.last, False, 100, top)

    def _merge_pass(self) -> None:
        touched = list(dict.fromkeys(s for s in self.touched_ if s in self.stories_))
        self.touched_ = []
        for s in touched:
            st = self.stories_.get(s)
            if st is None or st.size < 2:
                continue
            cands, _, probs = self.score(self._story_vector(st))
            pairs = [(p, c) for c, p in zip(cands, probs) if c != s and self.stories_[c].size >= 2]
            if not pairs:
                continue
            p, other = max(pairs)
            if p >= self.merge_threshold:
                self._merge(s, other)

    def _merge(self, a: str, b: str) -> None:
        keep, gone = sorted((a, b), key=lambda s: (-self.stories_[s].size, s))
        kst, gst = self.stories_[keep], self.stories_.pop(gone)
        self.terms_.remove(gone, gst.terms)
        old = set(kst.terms)
        kst.absorb(gst)
        self.terms_.add(keep, [w for w in kst.terms if w not in old])
        if self.dense_ is not None:
            self.dense_.remove([gone])
            if kst.dense is not None:
                self.dense_.set(keep, kst.unit_dense())  # type: ignore[arg-type]
        self.merges_[gone] = keep

    def _close(self, stories: list[str]) -> None:
        for s in stories:
            st = self.stories_.pop(s)
            self.terms_.remove(s, st.terms)
        if self.dense_ is not None:
            self.dense_.remove(stories)

    def _close_old(self) -> None:
        if self.clock_ is not None:
            horizon = self.clock_ - self.window_days * 86400
            self._close([s for s, st in self.stories_.items() if st.last is not None and st.last < horizon])
        if len(self.stories_) > self.max_open:
            self._close(list(self.stories_)[: len(self.stories_) - self.max_open])

    # -- state ----------------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seen": self.seen_,
            "clock": self.clock_,
            "touched": self.touched_,
            "merges": self.merges_,
            "stories": [
                {"id": st.id, "size": st.size, "terms": st.terms, "entities": st.entities, "title": st.title,
                 "dense": None if st.dense is None else st.dense.tolist(), "first": st.first, "last": st.last}
                for st in self.stories_.values()
            ],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self._reset()
        self.seen_ = int(state.get("seen", 0))
        self.clock_ = state.get("clock")
        self.touched_ = list(state.get("touched", []))
        self.merges_ = dict(state.get("merges", {}))
        for d in state.get("stories", []):
            st = StoryState(d["id"], int(d["size"]), dict(d["terms"]), dict(d["entities"]), dict(d["title"]),
                            None if d.get("dense") is None else np.asarray(d["dense"], dtype=np.float32),
                            d.get("first"), d.get("last"))
            st.norms = tuple(math.sqrt(sum(v * v for v in x.values())) or 1.0 for x in (st.terms, st.entities, st.title))  # type: ignore[assignment]
            self.stories_[st.id] = st
            self.terms_.add(st.id, st.terms)
            if self.dense_ is not None and st.dense is not None:
                self.dense_.set(st.id, st.unit_dense())  # type: ignore[arg-type]


__all__ = ["StoryClusterer", "StoryState", "JoinModel", "FEATURES"]
