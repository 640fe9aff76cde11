"""Small learned scorers stored as JSON: linear models and gradient-boosted trees.

The training scripts (``scripts/train_summarizer.py``, ``scripts/train_clusterer.py``) fit them
with scikit-learn and export plain numbers (:func:`export_hist`); here they are evaluated with
numpy only, so the runtime needs no scikit-learn and a model file is a few tens of kilobytes.
The clusterer's join model and the summarizer's models both use them, so they live here, below
both stages.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

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


class TreeEnsembleScorer:
    """A gradient-boosted regression ensemble, all trees walked at once.

    Trees are padded to one node count; a leaf points to itself, so ``depth`` steps of
    ``node = left if x[feature] <= threshold else right`` reach every leaf (NaN features, which
    storyline never produces, would go left). Features are rounded to float32 (as the
    exported models have always been evaluated) and compared with each threshold rounded down to
    float32: exactly the decisions of comparing them with the float64 thresholds.

    The walk keeps node numbers doubled (``2 * node``; ``+ 1`` for the right child) in one flat
    table of all trees, so each step is a few gathers into preallocated buffers; the roots'
    split, the same node for every row, is taken for all rows at once.
    """

    def __init__(self, *, init: float, feature: list[list[int]], threshold: list[list[float]],
                 left: list[list[int]], right: list[list[int]], value: list[list[float]], depth: int) -> None:
        self.init = float(init)
        n_trees, width = len(feature), len(feature[0]) if feature else 1
        offset = (np.arange(n_trees, dtype=np.intp) * width)[:, None]
        flat_feature = np.asarray(feature, dtype=np.intp).reshape(n_trees, width)
        flat_threshold = _float32_below(np.asarray(threshold, dtype=np.float64).reshape(n_trees, width))
        left_global = (np.asarray(left, dtype=np.intp).reshape(n_trees, width) + offset).ravel()
        right_global = (np.asarray(right, dtype=np.intp).reshape(n_trees, width) + offset).ravel()
        # entry 2*node holds 2*left child, entry 2*node + 1 holds 2*right child
        self.children = 2 * np.stack([left_global, right_global], axis=1).ravel()
        self.feature = np.repeat(flat_feature.ravel(), 2)
        self.threshold = np.repeat(flat_threshold.ravel(), 2)
        self.value = np.repeat(np.asarray(value, dtype=np.float64).ravel(), 2)
        self.n_trees = n_trees
        self.roots = 2 * offset.ravel()
        self.root_feature = flat_feature[:, 0].copy()
        self.root_threshold = flat_threshold[:, 0].copy()
        self.root_children = np.stack([self.children[self.roots], self.children[self.roots + 1]])
        self.depth = int(depth)
        self._offsets, self._offsets_width = np.zeros(0, dtype=np.intp), 0

    def _row_offsets(self, n: int, n_features: int) -> np.ndarray:
        """Each (row, tree) pair's offset ``row * n_features`` into the flattened rows (kept and
        grown, since every call needs one)."""
        if len(self._offsets) < n * self.n_trees or self._offsets_width != n_features:
            rows = max(n, 2 * len(self._offsets) // max(self.n_trees, 1))
            self._offsets = np.repeat(np.arange(rows, dtype=np.intp) * n_features, self.n_trees)
            self._offsets_width = n_features
        return self._offsets[: n * self.n_trees]

    def predict(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        x = np.asarray(rows, dtype=np.float32)
        n, n_features = x.shape
        size = n * self.n_trees
        if self.depth:
            goes_right = x[:, self.root_feature] > self.root_threshold  # (rows, trees)
            node = np.where(goes_right, self.root_children[1], self.root_children[0]).ravel()
        else:
            node = np.tile(self.roots, n)
        base = self._row_offsets(n, n_features)
        flat_x = x.ravel()
        step, seen, limit = np.empty(size, dtype=np.intp), np.empty(size, dtype=np.float32), np.empty(size, dtype=np.float32)
        right = np.empty(size, dtype=bool)
        feature, threshold, children = self.feature, self.threshold, self.children
        for _ in range(self.depth - 1):
            np.take(feature, node, out=step, mode="clip")
            step += base
            np.take(flat_x, step, out=seen, mode="clip")
            np.take(threshold, node, out=limit, mode="clip")
            np.greater(seen, limit, out=right)
            node += right
            np.take(children, node, out=step, mode="clip")
            node, step = step, node
        return self.init + np.take(self.value, node, mode="clip").reshape(n, -1).sum(axis=1)


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
