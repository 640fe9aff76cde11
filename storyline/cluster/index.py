"""Candidate retrieval for the online clusterer: an inverted index over story centroids' terms
and a dense matrix of story centroids, both limited to the stories still open (time window and
a cap on how many stay open), so the cost per article stays flat as the stream grows."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

AHEAD_BLOCK = 128  # expected searches whose similarities one matrix product computes


class DenseStoryIndex:
    """Normalized story centroids in one growable float32 matrix; exact top-k by dot product.

    Closed stories are dropped by :meth:`remove` and the matrix is compacted lazily, so its size
    tracks the open stories only.

    Searches announced by :meth:`expect` take their similarities from one matrix product per
    block of them (a matrix-vector product streams the whole matrix through the cache for every
    search); rows changed since a block was computed are computed again for each search.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.matrix_ = np.zeros((64, dim), dtype=np.float32)
        self.ids_: list[str | None] = []
        self.row_of_: dict[str, int] = {}
        self.holes_ = 0
        self.expect(())

    def __len__(self) -> int:
        return len(self.row_of_)

    def set(self, story: str, vector: np.ndarray) -> None:
        row = self.row_of_.get(story)
        if row is None:
            row = len(self.ids_)
            if row >= len(self.matrix_):
                grown = np.zeros((len(self.matrix_) * 2, self.dim), dtype=np.float32)
                grown[: len(self.matrix_)] = self.matrix_
                self.matrix_ = grown
            self.ids_.append(story)
            self.row_of_[story] = row
        self.matrix_[row] = vector
        if self.block_ is not None:
            self.changed_.add(row)

    def remove(self, stories: Iterable[str]) -> None:
        for story in stories:
            row = self.row_of_.pop(story, None)
            if row is not None:
                self.ids_[row] = None
                self.matrix_[row] = 0.0
                self.holes_ += 1
                if self.block_ is not None:
                    self.changed_.add(row)
        if self.holes_ > 64 and self.holes_ > len(self.ids_) // 8:
            self._compact()

    def _compact(self) -> None:
        keep = [i for i, s in enumerate(self.ids_) if s is not None]
        size = max(64, 2 * len(keep))
        matrix = np.zeros((size, self.dim), dtype=np.float32)
        matrix[: len(keep)] = self.matrix_[keep]
        self.matrix_ = matrix
        self.ids_ = [self.ids_[i] for i in keep]
        self.row_of_ = {s: i for i, s in enumerate(self.ids_) if s is not None}
        self.holes_ = 0
        self.block_, self.changed_ = None, set()  # its rows moved: the next search computes its block again

    def expect(self, vectors: Sequence[np.ndarray | None], start: int = 0) -> None:
        """The query vectors of the searches about to come (``()``: none), as positions ``start``,
        ``start + 1``, ... of a longer list: the similarities of each block of
        :data:`AHEAD_BLOCK` positions come from one matrix product, made when the first of the
        block is searched. Blocks always hold :data:`AHEAD_BLOCK` rows (zeros for positions not
        given), so a query's similarities do not depend on where a list was cut (a forked helper
        searching the second half finds what one process searching all finds). A vector is known
        by identity (the list keeps it alive); one not searched costs only its share of a product.
        Similarities from a block can differ from a lone search's in the last bits."""
        self.ahead_ = {id(v): start + i for i, v in enumerate(vectors) if v is not None}
        self.queries_ = list(vectors)
        self.start_ = start
        self.block_: tuple[int, np.ndarray, int] | None = None  # (block number, similarities, rows then)
        self.changed_: set[int] = set()  # rows set or removed since the block was computed (none without one)

    def _similarities(self, vector: np.ndarray, n: int) -> np.ndarray:
        at = self.ahead_.get(id(vector)) if self.ahead_ else None
        if at is None:
            return self.matrix_[:n] @ vector
        number = at // AHEAD_BLOCK
        if self.block_ is None or self.block_[0] != number:
            queries = np.zeros((AHEAD_BLOCK, self.dim), dtype=np.float32)
            first = number * AHEAD_BLOCK - self.start_
            for i, v in enumerate(self.queries_[max(first, 0) : first + AHEAD_BLOCK], start=max(-first, 0)):
                if v is not None:
                    queries[i] = v
            self.block_ = number, queries @ self.matrix_[:n].T, n
            self.changed_ = set()
        _, block_sims, rows = self.block_
        sims = np.empty(n, dtype=np.float32)
        sims[:rows] = block_sims[at % AHEAD_BLOCK]
        if n > rows:
            sims[rows:] = self.matrix_[rows:n] @ vector
        if self.changed_:
            again = np.fromiter((r for r in self.changed_ if r < rows), dtype=np.intp)
            if len(again):
                sims[again] = self.matrix_[again] @ vector
        return sims

    def top(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        n = len(self.ids_)
        if n == 0:
            return []
        sims = self._similarities(vector, n)
        out = []
        # the k best by repeated argmax, each taken row struck off: for a handful out of
        # thousands several times quicker than argpartition (which partitions a negated copy)
        for _ in range(min(k, n)):
            i = int(sims.argmax())
            story = self.ids_[i]
            if story is not None:
                out.append((story, float(sims[i])))
            sims[i] = -np.inf
        return out


class TermIndex:
    """Inverted index from a term to the open stories whose centroid holds it."""

    def __init__(self) -> None:
        self.postings_: dict[str, set[str]] = {}

    def add(self, story: str, terms: Iterable[str]) -> None:
        for w in terms:
            posting = self.postings_.get(w)
            if posting is None:
                self.postings_[w] = {story}
            else:
                posting.add(story)

    def remove(self, story: str, terms: Iterable[str]) -> None:
        for w in terms:
            posting = self.postings_.get(w)
            if posting is not None:
                posting.discard(story)
                if not posting:
                    del self.postings_[w]

    def scores(self, terms: Iterable[str], weights: dict[str, float]) -> dict[str, float]:
        """Each open story holding any of ``terms``: the sum of those terms' ``weights``, added
        in the order of ``terms`` (so the same sums to the bit, run after run)."""
        acc: dict[str, float] = {}
        postings = self.postings_
        for w in terms:
            posting = postings.get(w)
            if posting:
                weight = weights[w]
                if acc:
                    get = acc.get
                    acc.update({s: get(s, 0.0) + weight for s in posting})
                else:  # the first term's stories: each sum is its weight (0.0 + weight)
                    acc = dict.fromkeys(posting, weight)
        return acc


__all__ = ["DenseStoryIndex", "TermIndex"]
