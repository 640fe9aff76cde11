"""Small learned scorers stored as JSON: linear models and gradient-boosted trees.

The training script (``scripts/train_summarizer.py``) fits them with scikit-learn and exports
plain numbers; here they are evaluated with numpy only, so the runtime needs no scikit-learn
and a model file is a few tens of kilobytes.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol, Sequence

import numpy as np

MODEL_FILE = "learned.v2.json"


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


class TreeEnsembleScorer:
    """A gradient-boosted regression ensemble, all trees walked at once.

    Trees are padded to one node count; a leaf points to itself, so ``depth`` steps of
    ``node = left if x[feature] <= threshold else right`` reach every leaf (NaN features, which
    storyline never produces, would go right). Features are compared
    in float32, as scikit-learn does, so predictions match the trained model.
    """

    def __init__(self, *, init: float, feature: list[list[int]], threshold: list[list[float]],
                 left: list[list[int]], right: list[list[int]], value: list[list[float]], depth: int) -> None:
        self.init = float(init)
        n_trees, width = len(feature), len(feature[0]) if feature else 1
        offset = (np.arange(n_trees, dtype=np.int64) * width)[:, None]
        # one flat node table; child pointers made global so each step is a 1-D gather
        self.feature = np.asarray(feature, dtype=np.int64).ravel()
        self.threshold = np.asarray(threshold, dtype=np.float64).ravel()
        left_global = (np.asarray(left, dtype=np.int64) + offset).ravel()
        right_global = (np.asarray(right, dtype=np.int64) + offset).ravel()
        self.children = np.stack([left_global, right_global], axis=1).ravel()  # node*2 (+1 = right)
        self.value = np.asarray(value, dtype=np.float64).ravel()
        self.roots = offset.ravel()
        self.depth = int(depth)

    def predict(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        x = np.asarray(rows, dtype=np.float32).astype(np.float64)
        n, n_features = x.shape
        flat_x = x.ravel()
        base = np.repeat(np.arange(n, dtype=np.int64) * n_features, len(self.roots))
        node = np.tile(self.roots, n)
        feature, threshold, children = self.feature, self.threshold, self.children
        for _ in range(self.depth):
            goes_right = flat_x[base + feature[node]] > threshold[node]
            node = children[2 * node + goes_right]
        return self.init + self.value[node].reshape(n, -1).sum(axis=1)


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


@lru_cache(maxsize=4)
def load_model(name: str = MODEL_FILE) -> dict[str, Any]:
    """The packaged model file ``storyline/summarize/models/<name>`` as a dict (cached)."""
    path = resources.files("storyline.summarize").joinpath("models", name)
    return json.loads(path.read_text(encoding="utf-8"))
