"""What the clusterer remembers about a story (:class:`StoryState`: centroids, members, time cues,
names and figures) and how a member's vector is kept in a saved state."""
from __future__ import annotations

import base64
import math
from operator import itemgetter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .features import TIME_CUES, ArticleVector, heaviest

_CENTROID_TERMS = 300  # terms kept per story centroid (the heaviest)
_INDEXED_TERMS = 40  # of which the inverted index holds these
_MEMBERS = 8  # member vectors kept per story for closest-member features
_SPLIT_ITEMS = 64  # stories up to this size keep every member's vector, so they can split

_ITEM_TERMS = 30  # an article's heaviest terms kept in a saved state for a later split


def _vector_state(v: ArticleVector) -> dict[str, Any]:
    """What a later split needs of a member's vector, JSON-ready (terms cut to the heaviest)."""
    terms = dict(sorted(v.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:_ITEM_TERMS])
    return {"terms": terms, "entities": v.entities, "title": v.title, "dense": _pack(v.dense), "when": v.when,
            "short": v.short, "words": v.words, "loose": v.loose, **{cue: sorted(getattr(v, cue)) for cue in TIME_CUES},
            "names": sorted(v.names), "figures": sorted(v.figures), "headline": v.headline,
            "lead_names": sorted(v.lead_names)}


def _vector_from_state(d: dict[str, Any]) -> ArticleVector:
    terms = dict(d["terms"])
    return ArticleVector(terms, dict(d["entities"]), dict(d["title"]), _unpack(d.get("dense")), d.get("when"), bool(d.get("short")),
                         int(d.get("words", 0)), heaviest(terms, 8), bool(d.get("loose")),
                         **{cue: frozenset(d.get(cue, ())) for cue in TIME_CUES},
                         names=frozenset(d.get("names", ())), figures=frozenset(d.get("figures", ())),
                         headline=bool(d.get("headline")), lead_names=frozenset(d.get("lead_names", ())))


def _pack(vector: np.ndarray | None) -> str | None:
    """A float32 vector as base64 text: exact, JSON-safe and a third the size of a float list."""
    return None if vector is None else base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _unpack(text: str | None) -> np.ndarray | None:
    return None if text is None else np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


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
    loose: bool = True  # every member is a loose item (undated headline or lone sentence)
    headlines: bool = True  # every member is a headline without text
    members: list[tuple[dict[str, float], np.ndarray | None]] = field(default_factory=list)
    opened: int = 0  # articles seen before this story opened
    days: set[str] = field(default_factory=set)  # weekdays, years and months its members name
    years: set[str] = field(default_factory=set)
    months: set[str] = field(default_factory=set)
    names: dict[str, int] = field(default_factory=dict)  # name -> members naming it
    figures: dict[str, int] = field(default_factory=dict)  # figure -> members naming it
    # (article id, vector) of each member in arrival order, for splitting; None once the story
    # has more than _SPLIT_ITEMS members (too big to split)
    items: list[tuple[str, ArticleVector]] | None = field(default_factory=list)
    # caches for the feature computation, rebuilt on demand after add()
    unit_: np.ndarray | None = field(default=None, repr=False, compare=False)
    member_dense_: np.ndarray | None = field(default=None, repr=False, compare=False)
    member_terms_: dict[str, int] | None = field(default=None, repr=False, compare=False)  # see member_dot
    core_: tuple[dict[str, float], float, set[str]] | None = field(default=None, repr=False, compare=False)
    dots_: Any = field(default=None, repr=False, compare=False)  # its arrays in .dots.SparseDots
    indexed_: set[str] | None = field(default=None, repr=False, compare=False)  # see indexed()
    vector_: Any = field(default=None, repr=False, compare=False)  # the story as one pseudo-article (StoryClusterer._story_vector)

    def add(self, vec: ArticleVector, article_id: str = "") -> None:
        self.absorb(StoryState(self.id, 1, vec.terms, vec.entities, vec.title, vec.dense, vec.when, vec.when, loose=vec.loose,
                               headlines=vec.headline,
                               items=[(article_id, vec)],
                               members=[(vec.terms, vec.dense)], **{cue: getattr(vec, cue) for cue in TIME_CUES},
                               names=dict.fromkeys(vec.names, 1), figures=dict.fromkeys(vec.figures, 1)))

    def absorb(self, other: "StoryState") -> None:
        """Fold ``other`` (one new article's state, or a story that turned out to be this one) in;
        ``other`` is only read."""
        self.unit_ = self.member_dense_ = self.member_terms_ = self.core_ = self.dots_ = self.vector_ = self.indexed_ = None
        self.size += other.size
        self.loose = self.loose and other.loose
        self.headlines = self.headlines and other.headlines
        if self.items is not None and other.items is not None and self.size <= _SPLIT_ITEMS:
            self.items = self.items + other.items
        else:
            self.items = None
        for cue in TIME_CUES:
            getattr(self, cue).update(getattr(other, cue))
        for name, n in other.names.items():
            self.names[name] = self.names.get(name, 0) + n
        for figure, n in other.figures.items():
            self.figures[figure] = self.figures.get(figure, 0) + n
        self.members = (self.members + other.members)[:_MEMBERS]
        for target, source in ((self.terms, other.terms), (self.entities, other.entities), (self.title, other.title)):
            for w, v in source.items():
                target[w] = target.get(w, 0.0) + v
        if len(self.terms) > _CENTROID_TERMS * 1.5:
            self.terms = dict(sorted(self.terms.items(), key=itemgetter(1), reverse=True)[:_CENTROID_TERMS])  # ties stay in order
        if other.dense is not None:
            self.dense = other.dense.copy() if self.dense is None else self.dense + other.dense
        for when in (other.first, other.last):
            if when is not None:
                self.first = when if self.first is None else min(self.first, when)
                self.last = when if self.last is None else max(self.last, when)
        self._renorm()

    def _renorm(self) -> None:
        self.norms = tuple(math.sqrt(sum(v * v for v in d.values())) or 1.0 for d in (self.terms, self.entities, self.title))  # type: ignore[assignment]

    def indexed(self) -> set[str]:
        """The centroid's heaviest terms (ties by term), the ones the inverted index holds; kept
        until the story changes (callers only read it)."""
        if self.indexed_ is None:
            terms = self.terms
            if len(terms) <= _INDEXED_TERMS:
                self.indexed_ = set(terms)
            else:
                self.indexed_ = set(heaviest(terms, _INDEXED_TERMS))
        return self.indexed_

    def unit_dense(self) -> np.ndarray | None:
        if self.dense is None:
            return None
        if self.unit_ is None:
            self.unit_ = self.dense / (float(np.linalg.norm(self.dense)) or 1.0)
        return self.unit_

    def member_dense(self) -> np.ndarray | None:
        """The members' embeddings stacked as rows (None when no member has one)."""
        if self.member_dense_ is None:
            rows = [d for _, d in self.members if d is not None]
            self.member_dense_ = np.vstack(rows) if rows else None
        return self.member_dense_

    def member_dot(self, terms: dict[str, float]) -> float:
        """The largest :func:`.features.sparse_dot` of ``terms`` with a member's terms (0 without
        members), to the bit: the same products summed with ``fsum``, found through an index of
        which members hold each term (a bit mask; cached until the story changes)."""
        if self.member_terms_ is None:
            index: dict[str, int] = {}
            for j, (member, _) in enumerate(self.members):
                for w in member:
                    index[w] = index.get(w, 0) | 1 << j
            self.member_terms_ = index
        if not self.members:
            return 0.0
        products: list[list[float]] = [[] for _ in self.members]
        for w in terms.keys() & self.member_terms_.keys():
            x = terms[w]
            for j in _BITS[self.member_terms_[w]]:
                products[j].append(x * self.members[j][0][w])
        return max(map(math.fsum, products))


_BITS = [tuple(j for j in range(_MEMBERS) if mask >> j & 1) for mask in range(1 << _MEMBERS)]  # a mask's set bits

__all__ = ["StoryState"]
