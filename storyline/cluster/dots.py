"""The sparse dot products of the join features, for many stories at once and to the bit.

A feature row needs four sparse dot products of an article with a story: its TF-IDF terms, named
entities and title words with the story's three centroids, and its terms with each member the
story keeps (the largest counts). :func:`.features.sparse_dot` computes one in Python over two
dicts; a row cost about 20 us of them. :class:`SparseDots` gives every term an integer id (one
id space per kind), keeps each story's centroids and members as one id array and one weight
array (until the story changes), writes the article's weights into a scratch row indexed by id,
and multiplies the scratch row gathered at every candidate story's ids in one numpy pass. The
products are the same floats ``sparse_dot`` multiplies (the same two operands), and each dot
is their ``math.fsum``, which is exactly rounded whatever the order: the result equals
``sparse_dot``'s to the bit, so every decision stays as it was.

Ids are handed out as terms are first seen. The tables are emptied, and every cached array
dropped by a generation count, once ``max_ids`` ids exist, so a long stream's memory stays
bounded (a story's arrays are rebuilt when next scored).
"""
from __future__ import annotations

import math
from itertools import accumulate, count
from typing import Any, Sequence

import numpy as np

from ..kernels import compiled
from .features import ArticleVector, sparse_dot

KINDS = ("terms", "entities", "title")
_GENERATIONS = count()
TRANSIENT = False  # a story state's ``dots_`` for a one-off copy (refine's leave-one-out): scored from its dicts


class SparseDots:
    """Term ids, a scratch row, and the batched exact dot products (see the module doc)."""

    def __init__(self, max_ids: int = 400_000) -> None:
        self.max_ids = max_ids
        self._reset()

    def _reset(self) -> None:
        self.ids_: tuple[dict[str, int], ...] = tuple({} for _ in KINDS)
        self.next_ = 0
        self.scratch_ = np.zeros(4096)
        self.generation_ = next(_GENERATIONS)  # unique across instances: a vector may meet several clusterers

    def _ids(self, kind: int, words: Any) -> list[int]:
        table = self.ids_[kind]
        try:
            return list(map(table.__getitem__, words))  # most terms have ids already
        except KeyError:
            pass
        out = []
        for w in words:
            i = table.get(w)
            if i is None:
                i = table[w] = self.next_
                self.next_ += 1
            out.append(i)
        return out

    def _arrays(self, parts: Sequence[tuple[int, dict[str, float]]]) -> tuple[np.ndarray, np.ndarray]:
        """One id array and one weight array over ``parts`` ((kind, weights), in order)."""
        native = compiled()
        if native is not None:  # the same ids handed out in the same order, compiled
            n = sum(len(weights) for _, weights in parts)
            ids_out, vals_out = np.empty(n, dtype=np.intp), np.empty(n, dtype=np.float64)
            self.next_ = native.id_arrays(self.ids_, self.next_, list(parts), ids_out, vals_out)
            return ids_out, vals_out
        ids: list[int] = []
        vals: list[float] = []
        for kind, weights in parts:
            ids += self._ids(kind, weights)
            vals += weights.values()
        return np.asarray(ids, dtype=np.intp), np.asarray(vals, dtype=np.float64)

    def _query(self, vec: ArticleVector) -> tuple[np.ndarray, np.ndarray]:
        cached = vec.dots_
        if cached is None or cached[0] != self.generation_:
            cached = vec.dots_ = (self.generation_, *self._arrays(((0, vec.terms), (1, vec.entities), (2, vec.title))))
        return cached[1], cached[2]

    def _story(self, st: Any) -> tuple[np.ndarray, np.ndarray, list[int], bool]:
        """A story's arrays: its three centroids, then each kept member's terms (none when its one
        member is its centroid: ``lone``), with the segments' lengths."""
        cached = st.dots_
        if cached is None or cached[0] != self.generation_:
            lone = _lone(st)
            parts = [(0, st.terms), (1, st.entities), (2, st.title)]
            ids, vals = self._arrays(parts)
            if not lone and st.members:
                members = self._members(st)
                ids = np.concatenate([ids, *(m[0] for m in members)])
                vals = np.concatenate([vals, *(m[1] for m in members)])
                parts += [(0, terms) for terms, _ in st.members]
            cached = st.dots_ = (self.generation_, ids, vals, [len(w) for _, w in parts], lone)
        return cached[1], cached[2], cached[3], cached[4]

    def _members(self, st: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each kept member's terms as arrays: the head of its article vector's own arrays when
        the member is an article the story holds (its terms first), else made here."""
        items = st.items or ()
        out = []
        for j, (terms, _) in enumerate(st.members):
            if j < len(items) and items[j][1].terms is terms:
                ids, vals = self._query(items[j][1])
                out.append((ids[: len(terms)], vals[: len(terms)]))
            else:
                out.append(self._arrays([(0, terms)]))
        return out

    def story_query(self, st: Any, vec: ArticleVector) -> None:
        """Give ``vec``, the story ``st`` as one pseudo-article (its centroids divided by its
        norms, ``StoryClusterer._story_vector``), its arrays from the story's: the same ids in
        the same order, each weight divided as the dicts' are (so equal to the bit)."""
        ids, vals, segments, _ = self._story(st)
        ends = list(accumulate(segments[:3]))
        vals = np.concatenate([vals[a:b] / n for a, b, n in zip([0, *ends], ends, st.norms)])
        vec.dots_ = (self.generation_, ids[: ends[-1]], vals)

    def dots(self, vec: ArticleVector, states: Sequence[Any]) -> list[tuple[float, float, float, float]]:
        """(terms, entities, title, best member) dot products of ``vec`` with each story, equal
        to :func:`.features.sparse_dot`'s (and ``StoryState.member_dot``'s) to the bit."""
        if self.next_ > self.max_ids:
            self._reset()
        out: list[Any] = [_by_dicts(vec, st) if st.dots_ is TRANSIENT else None for st in states]
        batched = [i for i, r in enumerate(out) if r is None]
        if not batched:
            return out
        q_ids, q_vals = self._query(vec)
        arrays = [self._story(states[i]) for i in batched]
        if self.next_ > len(self.scratch_):  # ids handed out above: grow the scratch row to hold them
            self.scratch_ = np.zeros(2 * self.next_)
        scratch = self.scratch_
        native = compiled()
        sums4 = native.segment_dots(scratch, q_ids, q_vals, arrays) if native is not None else None
        if sums4 is not None:  # the compiled loop: the same products and exact sums (None: a product not finite)
            for i, r in zip(batched, sums4):
                out[i] = r
            return out
        scratch[q_ids] = q_vals
        try:
            products = scratch[np.concatenate([a[0] for a in arrays])]
            products *= np.concatenate([a[1] for a in arrays])
        finally:
            scratch[q_ids] = 0.0
        hit = np.flatnonzero(products)
        matched = products[hit].tolist()
        bounds = np.searchsorted(hit, list(accumulate((n for a in arrays for n in a[2]), initial=0))).tolist()
        fsum = math.fsum
        sums = [fsum(matched[a:b]) if b > a else 0.0 for a, b in zip(bounds, bounds[1:])]
        at = 0
        for i, (_, _, segments, lone) in zip(batched, arrays):
            sp, en, ti = sums[at : at + 3]
            out[i] = (sp, en, ti, sp if lone else max(sums[at + 3 : at + len(segments)], default=0.0))
            at += len(segments)
        return out


def _by_dicts(vec: ArticleVector, st: Any) -> tuple[float, float, float, float]:
    """The four dot products from the dicts (a one-off story state, not worth its arrays)."""
    sp = sparse_dot(vec.terms, st.terms)
    return sp, sparse_dot(vec.entities, st.entities), sparse_dot(vec.title, st.title), sp if _lone(st) else st.member_dot(vec.terms)


def _lone(st: Any) -> bool:
    """The story's one kept member is its centroid (a one-article story): its member dot product is
    the centroid's."""
    return len(st.members) == 1 and st.members[0][0] == st.terms


__all__ = ["SparseDots", "TRANSIENT"]
