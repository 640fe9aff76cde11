"""Small learned scorers stored as JSON: linear models and gradient-boosted trees.

The training scripts (``scripts/train_summarizer.py``, ``scripts/train_clusterer.py``) fit them
with scikit-learn and export plain numbers (:func:`export_hist`); here they are evaluated with
numpy only, so the runtime needs no scikit-learn and a model file is a few tens of kilobytes.
The clusterer's join model and the summarizer's models both use them, so they live here, below
both stages.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np


class Scorer(Protocol):
    """Maps feature rows to one score per row."""

    def predict(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray: ...


class LinearScorer:
    """``bias + rows @ weights`` after standardizing with the training ``mean``/``scale``."""

    def __init__(self, *, weights: Sequence[float], bias: float, mean: Sequence[float],
                 scale: Sequence[float], logistic: bool = False) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.bias = float(bias)
        self.mean = np.asarray(mean, dtype=float)
        self.scale = np.asarray(scale, dtype=float)
        self.logistic = logistic

    def predict(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        z = ((np.asarray(rows, dtype=float) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z)) if self.logistic else z


def _float32_below(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each float64 ``threshold``: for a float32 ``x``,
    ``x > threshold`` exactly when ``x > _float32_below(threshold)``."""
    rounded = threshold.astype(np.float32)
    return np.where(rounded.astype(np.float64) > threshold, np.nextafter(rounded, np.float32(-np.inf)), rounded)


PREDICT_BLOCK = 512  # rows evaluated at once: their (features x rows x trees) leaf sets, 1.4 MB for 14 x 100 of 16 bits


class TreeEnsembleScorer:
    """A gradient-boosted regression ensemble, all trees evaluated at once by leaf bit sets.

    Features are rounded to float32 (as the exported models have always been evaluated) and
    compared with each threshold rounded down to float32: exactly the decisions of comparing them
    with the float64 thresholds. A row goes right at a node when its feature exceeds the
    threshold (a NaN feature, which storyline never produces, goes left everywhere).

    The evaluation is QuickScorer's (Lucchese et al., SIGIR 2015), vectorized: each tree's leaves,
    numbered left to right, are the bits of a small integer; a node the row passes to the right
    rules out the leaves of its left subtree, and the leftmost leaf never ruled out is the one
    the walk from the root reaches. A feature's distinct thresholds are sorted, so the nodes a
    row passes to the right on that feature are the first ``rank`` of them, where ``rank`` is how
    many thresholds the feature exceeds; one table row per (feature, rank) holds, for every tree,
    the leaves those nodes leave. A row's leaves are the AND of its features' table rows. That is
    a few numpy calls per :meth:`predict` whatever the depth, rather than several per level.

    Raises:
        ValueError: a tree with more than 64 leaves (its leaves would not fit one integer).
    """

    def __init__(self, *, init: float, feature: list[list[int]], threshold: list[list[float]],
                 left: list[list[int]], right: list[list[int]], value: list[list[float]], depth: int) -> None:
        self.init = float(init)
        self.depth = int(depth)
        self.n_trees = n_trees = len(feature)
        # +0.0 makes a -0.0 threshold 0.0, so the float32 keys order as the comparisons do
        cut = [(_float32_below(np.asarray(row, dtype=np.float64)) + np.float32(0.0)).tolist() for row in threshold]
        trees = [_leaves_and_splits(left[t], right[t]) for t in range(n_trees)]
        width = max((len(leaves) for leaves, _ in trees), default=1)
        if width > 64:
            raise ValueError(f"a tree has {width} leaves; TreeEnsembleScorer evaluates trees of at most 64")
        dtype = next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if np.dtype(d).itemsize * 8 >= width)
        # the features some split uses, and each one's distinct thresholds, sorted
        splits = [(t, node, feature[t][node], cut[t][node]) for t, (_, inner) in enumerate(trees) for node in inner]
        by_feature: dict[int, set[float]] = {}
        for _, _, f, c in splits:
            by_feature.setdefault(f, set()).add(c)
        self.columns = np.array(sorted(by_feature), dtype=np.intp)
        column_of = {f: col for col, f in enumerate(sorted(by_feature))}
        cuts = [sorted(by_feature[f]) for f in sorted(by_feature)]
        # rows from a threshold's rank + 1 on exceed it: the walk goes right
        rank_of = [{c: rank for rank, c in enumerate(cs, 1)} for cs in cuts]
        keys = [(c << 32) + _sortable(np.asarray(cs, dtype=np.float32)) for c, cs in enumerate(cuts)]
        self.keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        self.key_base = np.arange(len(cuts), dtype=np.int64) << 32
        # table row of (column c, rank r): first[c] + r; a row's rank among all keys is first[c] - c + r
        first = np.cumsum([0] + [len(cs) + 1 for cs in cuts])[:-1].tolist()
        self.row_shift = np.arange(len(cuts), dtype=np.intp)
        full = np.array([(1 << len(leaves)) - 1 for leaves, _ in trees], dtype=np.uint64)
        table = np.tile(full, (sum(len(cs) + 1 for cs in cuts), 1))
        # each split's leaves at its threshold's row, then ANDed down each column's rows
        at_row = [first[column_of[f]] + rank_of[column_of[f]][c] for _, _, f, c in splits]
        np.bitwise_and.at(table, (np.asarray(at_row, dtype=np.intp), np.asarray([t for t, *_ in splits], dtype=np.intp)),
                          np.asarray([trees[t][1][node] for t, node, _, _ in splits], dtype=np.uint64))
        for col, cs in enumerate(cuts):
            np.bitwise_and.accumulate(table[first[col] : first[col] + len(cs) + 1], axis=0,
                                      out=table[first[col] : first[col] + len(cs) + 1])
        self.table = table.astype(dtype)
        values = np.zeros((n_trees, width))
        for t, (leaves, _) in enumerate(trees):
            values[t, : len(leaves)] = [value[t][leaf] for leaf in leaves]
        self.values = values.ravel()
        # a lone bit 1 << k, as a float32, has exponent bits 127 + k: entry (bits >> 23) + shift[t] is leaf k of tree t
        self.value_shift = np.arange(n_trees, dtype=np.int32) * width - 127

    def predict(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        x = np.asarray(rows, dtype=np.float32)
        if len(x) > PREDICT_BLOCK:  # each row's value is its own: blocks keep the gathered leaves in the cache
            return np.concatenate([self._predict(x[i : i + PREDICT_BLOCK]) for i in range(0, len(x), PREDICT_BLOCK)])
        return self._predict(x)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        if not len(self.columns):
            leaves = np.ones((n, self.n_trees), dtype=self.table.dtype)
        else:
            seen = np.fmax(x[:, self.columns], np.float32(-np.inf))  # a NaN exceeds no threshold
            rank = np.searchsorted(self.keys, _sortable(seen) + self.key_base) + self.row_shift
            leaves = np.bitwise_and.reduce(np.take(self.table, rank.T, axis=0), axis=0)  # (rows, trees)
        lowest = leaves & (~leaves + np.ones(1, dtype=leaves.dtype))  # the leftmost leaf left, alone
        entry = (lowest.astype(np.float32).view(np.int32) >> 23) + self.value_shift
        return self.init + np.take(self.values, entry).sum(axis=1)


def _leaves_and_splits(left: Sequence[int], right: Sequence[int]) -> tuple[list[int], dict[int, int]]:
    """A padded tree's leaves from left to right (node numbers; a leaf points to itself) and, for
    each split node reachable from the root, the bit set of the leaves its walk to the right leaves
    possible (all but those of its left subtree)."""
    leaves: list[int] = []
    below: dict[int, tuple[int, int]] = {}  # split node -> (first, end) of its left subtree's leaves

    def visit(node: int, again: Callable[[int, Any], None]) -> None:  # handed itself: no reference cycle
        if left[node] == node:
            leaves.append(node)
            return
        start = len(leaves)
        again(left[node], again)
        below[node] = (start, len(leaves))
        again(right[node], again)

    visit(0, visit)
    every = (1 << len(leaves)) - 1
    return leaves, {node: every & ~((1 << end) - (1 << start)) for node, (start, end) in below.items()}


def _sortable(x: np.ndarray) -> np.ndarray:
    """float32 values as int64 keys in the same order (for -0.0 and 0.0 too, once ``+ 0.0`` made
    them equal; no NaN): the bits, with those of negative numbers reversed."""
    bits = x.view(np.int32)
    return (bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))).astype(np.int64)


def scorer_from_dict(spec: dict[str, Any]) -> Scorer:
    """Build a scorer from its exported JSON form (``{"kind": "linear"|"trees", ...}``)."""
    kind = spec["kind"]
    params = {k: v for k, v in spec.items() if k not in ("kind", "features", "name", "pairs")}
    if kind == "linear":
        return LinearScorer(**params)
    if kind == "trees":
        return TreeEnsembleScorer(**params)
    raise ValueError(f"unknown scorer kind {kind!r}; expected 'linear' or 'trees'")


def export_hist(model: Any, features: Sequence[str]) -> dict[str, Any]:
    """A fitted scikit-learn HistGradientBoosting model (regressor, or binary classifier: its raw
    log-odds) as padded node arrays for :class:`TreeEnsembleScorer`. Used by the training scripts."""
    trees = [pred[0].nodes for pred in model._predictors]
    width = max(len(t) for t in trees)
    out: dict[str, list[list[Any]]] = {k: [] for k in ("feature", "threshold", "left", "right", "value")}
    depth = 0
    for nodes in trees:
        f, th, lo, hi, v = [], [], [], [], []
        for n in range(width):
            if n < len(nodes) and not nodes["is_leaf"][n]:
                f.append(int(nodes["feature_idx"][n])); th.append(round(float(nodes["num_threshold"][n]), 6))
                lo.append(int(nodes["left"][n])); hi.append(int(nodes["right"][n])); v.append(0.0)
            else:
                f.append(0); th.append(0.0); lo.append(n); hi.append(n)
                v.append(round(float(nodes["value"][n]), 6) if n < len(nodes) else 0.0)
        depth = max(depth, int(nodes["depth"].max()))
        for key, col in zip(("feature", "threshold", "left", "right", "value"), (f, th, lo, hi, v)):
            out[key].append(col)
    return {"kind": "trees", "features": list(features), "init": float(np.ravel(model._baseline_prediction)[0]),
            **out, "depth": depth}


__all__ = ["LinearScorer", "Scorer", "TreeEnsembleScorer", "export_hist", "scorer_from_dict"]
