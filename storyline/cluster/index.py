"""Candidate retrieval for the online clusterer: an inverted index over story centroids' terms
and a dense matrix of story centroids, both limited to the stories still open (time window and
a cap on how many stay open), so the cost per article stays flat as the stream grows."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ..kernels import compiled

AHEAD_BLOCK = 128  # expected searches whose similarities one matrix product computes
RENUMBER_SLACK = 4096  # story columns of the term index not in use before it numbers them again
TERMS_AHEAD_LEAST = 8  # announced term searches worth a block (fewer are summed one at a time)


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
    """Inverted index from a term to the open stories whose centroid holds it.

    A search sums, per story, the weights of the query's terms the story holds, in the query's
    term order (:meth:`scores`), and keeps the heaviest (:meth:`best`). Searches announced by
    :meth:`expect` take their sums from one sparse matrix product per block of
    :data:`AHEAD_BLOCK` (queries x terms, terms x stories): scipy adds each product to a story's
    sum in the order of the query's terms, as :meth:`scores` does, so the sums are the same to
    the bit. Stories whose terms changed since a block was computed are summed again for each
    search. Each story has a column number (renumbered when most are gone), and each posting is
    kept as a set of columns beside its set of stories (and as an array of them until it changes).
    """

    def __init__(self) -> None:
        self.postings_: dict[str, set[str]] = {}
        self.held_: dict[str, int] = {}  # story -> postings holding it
        self.summed_ = [0, 0]  # searches, and the stories their sums held, since :meth:`mean_sums`
        self.arrays_: dict[str, np.ndarray] = {}  # term -> its posting's columns, until it changes
        self._renumber()
        self.expect(())

    def _renumber(self) -> None:
        self.column_: dict[str, int] = {s: i for i, s in enumerate(self.held_)}
        self.names_: list[str] = list(self.held_)
        column = self.column_
        self.columns_: dict[str, set[int]] = {w: set(map(column.__getitem__, p)) for w, p in self.postings_.items()}
        self.arrays_.clear()

    def add(self, story: str, terms: Iterable[str]) -> None:
        column = self.column_.get(story)
        if column is None:
            column = self.column_[story] = len(self.names_)
            self.names_.append(story)
        held = 0
        for w in terms:
            posting = self.postings_.get(w)
            if posting is None:
                self.postings_[w] = {story}
                self.columns_[w] = {column}
            elif story in posting:
                continue
            else:
                posting.add(story)
                self.columns_[w].add(column)
                self.arrays_.pop(w, None)
            held += 1
        if held:
            self.held_[story] = self.held_.get(story, 0) + held
            self._changed(story)

    def remove(self, story: str, terms: Iterable[str]) -> None:
        held = 0
        for w in terms:
            posting = self.postings_.get(w)
            if posting is not None and story in posting:
                posting.discard(story)
                held += 1
                self.arrays_.pop(w, None)
                if posting:
                    self.columns_[w].discard(self.column_[story])
                else:
                    del self.postings_[w], self.columns_[w]
        if held:
            left = self.held_[story] - held
            if left:
                self.held_[story] = left
            else:
                del self.held_[story]
            self._changed(story)

    def _changed(self, story: str) -> None:
        if self.block_ is not None:
            self.changed_.add(story)
            column = self.column_[story]
            if column < len(self.stale_):
                self.stale_[column] = True

    def scores(self, terms: Iterable[str], weights: dict[str, float]) -> dict[str, float]:
        """Each open story holding any of ``terms``: the sum of those terms' ``weights``, added
        in the order of ``terms`` (so the same sums to the bit, run after run)."""
        return self._sums(terms, weights, self.postings_)

    @staticmethod
    def _sums(terms: Iterable[str], weights: dict[str, float], postings: dict[str, set[str]],
              among: set[str] | None = None) -> dict[str, float]:
        native = compiled()
        if native is not None:  # the same additions in the same order, compiled
            return native.term_sums(terms, weights, postings, among)
        acc: dict[str, float] = {}
        for w in terms:
            posting = postings.get(w)
            if posting and among is not None:
                posting = posting & among
            if posting:
                weight = weights[w]
                if acc:
                    get = acc.get
                    acc.update({s: get(s, 0.0) + weight for s in posting})
                else:  # the first term's stories: each sum is its weight (0.0 + weight)
                    acc = dict.fromkeys(posting, weight)
        return acc

    def best(self, terms: list[str], weights: dict[str, float], k: int) -> tuple[list[str], float, float]:
        """The ``k`` stories with the heaviest :meth:`scores` (ties by id), the ``k``-th and the
        next sum (0, 0 when at most ``k`` stories hold any of ``terms``)."""
        at = self.ahead_.get(id(terms)) if self.ahead_ else None
        self.summed_[0] += 1
        if at is None:
            acc = self.scores(terms, weights)
            self.summed_[1] += len(acc)
            return _heaviest(acc, k)
        number = at // AHEAD_BLOCK
        if self.block_ is None or self.block_[0] != number:
            self._block(number)
        assert self.block_ is not None
        sums = self.block_[1]
        row = at % AHEAD_BLOCK
        a, b = sums.indptr[row], sums.indptr[row + 1]
        columns, values = sums.indices[a:b], sums.data[a:b]
        if not self.changed_:
            self.summed_[1] += len(values)
            return _heaviest_of(columns, values, self.names_, {}, k)
        keep = ~self.stale_[columns]
        again = self._sums(terms, weights, self.postings_, self.changed_)
        columns, values = columns[keep], values[keep]
        self.summed_[1] += len(values) + len(again)
        return _heaviest_of(columns, values, self.names_, again, k)

    def mean_sums(self) -> float:
        """How many stories the searches since the last call summed, on average (0 without any)."""
        searches, stories = self.summed_
        self.summed_ = [0, 0]
        return stories / searches if searches else 0.0

    def expect(self, queries: Sequence[tuple[list[str], dict[str, float]] | None], start: int = 0) -> None:
        """The (terms, weights) of the searches about to come (``()``: none), as positions
        ``start``, ``start + 1``, ... of a longer list, as :meth:`DenseStoryIndex.expect`: each
        block of :data:`AHEAD_BLOCK` positions is summed by one product when the first of it is
        searched. A query is known by the identity of its terms list (the list is kept alive); one
        with a weight that is not positive goes alone (a product leaves out a sum of 0), and so do
        all when fewer than :data:`TERMS_AHEAD_LEAST` are announced."""
        self.ahead_ = {id(q[0]): start + i for i, q in enumerate(queries)
                       if q is not None and all(q[1][w] > 0 for w in q[0])}
        if len(self.ahead_) < TERMS_AHEAD_LEAST:  # a product's fixed cost outweighs a few sums
            self.ahead_ = {}
        self.queries_ = list(queries)
        self.start_ = start
        self.block_: tuple[int, Any] | None = None  # (block number, the sums as a CSR matrix)
        self.changed_: set[str] = set()  # stories whose terms changed since the block was summed
        self.stale_ = np.zeros(0, dtype=bool)  # the same, by column

    def _block(self, number: int) -> None:
        from scipy.sparse import csr_matrix

        if len(self.names_) > 2 * len(self.held_) + RENUMBER_SLACK:
            self._renumber()
        postings = self.postings_
        rows: dict[str, int] = {}  # term -> its row of the terms x stories matrix
        indptr, indices, data = [0], [], []
        first = number * AHEAD_BLOCK - self.start_
        for i in range(first, first + AHEAD_BLOCK):
            query = self.queries_[i] if 0 <= i < len(self.queries_) else None
            if query is not None:
                terms, weights = query
                for w in terms:
                    if w in postings:
                        indices.append(rows.setdefault(w, len(rows)))
                        data.append(weights[w])
            indptr.append(len(indices))
        arrays, columns, parts = self.arrays_, self.columns_, []
        for w in rows:
            got = arrays.get(w)
            if got is None:
                got = arrays[w] = np.fromiter(columns[w], dtype=np.int64, count=len(columns[w]))
            parts.append(got)
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        total = int(lengths.sum())
        n = len(self.names_)
        queries = csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                              np.asarray(indptr, dtype=np.int64)), shape=(AHEAD_BLOCK, len(rows)))
        stories = csr_matrix((np.ones(total), np.concatenate(parts) if parts else np.zeros(0, np.int64),
                              np.concatenate([[0], np.cumsum(lengths)])), shape=(len(rows), n))
        self.block_ = number, queries @ stories
        self.changed_ = set()
        self.stale_ = np.zeros(n, dtype=bool)


def _heaviest(acc: dict[str, float], k: int) -> tuple[list[str], float, float]:
    """The ``k`` heaviest of ``acc`` (ties by id), the ``k``-th and the next weight; all of them
    by id, 0 and 0, when there are at most ``k``."""
    if len(acc) <= k:
        return sorted(acc), 0.0, 0.0
    cut, left = sorted(acc.values(), reverse=True)[k - 1 : k + 1]  # only those at the cut get sorted
    return sorted([s for s, v in acc.items() if v >= cut], key=lambda s: (-acc[s], s))[:k], cut, left


def _heaviest_of(columns: np.ndarray, values: np.ndarray, names: list[str], more: dict[str, float],
                 k: int) -> tuple[list[str], float, float]:
    """:func:`_heaviest` of the stories at ``columns`` with ``values`` and those of ``more``."""
    n = len(values) + len(more)
    if n <= k:
        return sorted([*map(names.__getitem__, columns.tolist()), *more]), 0.0, 0.0
    every = np.concatenate([values, np.fromiter(more.values(), dtype=np.float64, count=len(more))]) if more else values
    part = np.partition(every, (n - k - 1, n - k))
    cut, left = float(part[n - k]), float(part[n - k - 1])
    at = np.flatnonzero(values >= cut)
    picked = list(zip((-values[at]).tolist(), map(names.__getitem__, columns[at].tolist())))
    picked += [(-v, s) for s, v in more.items() if v >= cut]
    return [s for _, s in sorted(picked)[:k]], cut, left


__all__ = ["AHEAD_BLOCK", "RENUMBER_SLACK", "TERMS_AHEAD_LEAST", "DenseStoryIndex", "TermIndex"]
