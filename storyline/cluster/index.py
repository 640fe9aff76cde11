"""Candidate retrieval for the online clusterer: an inverted index over story centroids' terms
and a dense matrix of story centroids, both limited to the stories still open (time window and
a cap on how many stay open), so the cost per article stays flat as the stream grows."""
from __future__ import annotations

from typing import Iterable

import numpy as np


class DenseStoryIndex:
    """Normalized story centroids in one growable float32 matrix; exact top-k by dot product.

    Closed stories are dropped by :meth:`remove` and the matrix is compacted lazily, so its size
    tracks the open stories only.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.matrix_ = np.zeros((64, dim), dtype=np.float32)
        self.ids_: list[str | None] = []
        self.row_of_: dict[str, int] = {}
        self.holes_ = 0

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

    def remove(self, stories: Iterable[str]) -> None:
        for story in stories:
            row = self.row_of_.pop(story, None)
            if row is not None:
                self.ids_[row] = None
                self.matrix_[row] = 0.0
                self.holes_ += 1
        if self.holes_ > 1024 and self.holes_ > len(self.ids_) // 2:
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

    def top(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        n = len(self.ids_)
        if n == 0:
            return []
        sims = self.matrix_[:n] @ vector
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
