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

MODEL_FILE = "learned.v1.json"


class Scorer(Protocol):
    """Maps feature rows to one score per row."""

    def predict(self, rows: Sequence[Sequence[float]]) -> np.ndarray: ...


class LinearScorer:
    """``bias + rows @ weights`` after standardizing with the training ``mean``/``scale``."""

    def __init__(self, *, weights: Sequence[float], bias: float, mean: Sequence[float],
                 scale: Sequence[float], logistic: bool = False) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.bias = float(bias)
        self.mean = np.asarray(mean, dtype=float)
        self.scale = np.asarray(scale, dtype=float)
        self.logistic = logistic

    def predict(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        z = ((np.asarray(rows, dtype=float) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z)) if self.logistic else z


class TreeEnsembleScorer:
    """A gradient-boosted regression ensemble, all trees walked at once.

    Trees are padded to one node count; a leaf points to itself, so ``depth`` steps of
    ``node = left if x[feature] <= threshold else right`` reach every leaf. Features are compared
    in float32, as scikit-learn does, so predictions match the trained model.
    """

    def __init__(self, *, init: float, feature: list[list[int]], threshold: list[list[float]],
                 left: list[list[int]], right: list[list[int]], value: list[list[float]], depth: int) -> None:
        self.init = float(init)
        self.feature = np.asarray(feature, dtype=np.int64)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.left = np.asarray(left, dtype=np.int64)
        self.right = np.asarray(right, dtype=np.int64)
        self.value = np.asarray(value, dtype=np.float64)
        self.depth = int(depth)

    def predict(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        x = np.asarray(rows, dtype=np.float32).astype(np.float64)
        n_trees = self.feature.shape[0]
        trees = np.arange(n_trees)[:, None]
        samples = np.arange(x.shape[0])[None, :]
        node = np.zeros((n_trees, x.shape[0]), dtype=np.int64)
        for _ in range(self.depth):
            goes_left = x[samples, self.feature[trees, node]] <= self.threshold[trees, node]
            node = np.where(goes_left, self.left[trees, node], self.right[trees, node])
        return self.init + self.value[trees, node].sum(axis=0)


def scorer_from_dict(spec: dict[str, Any]) -> Scorer:
    """Build a scorer from its exported JSON form (``{"kind": "linear"|"trees", ...}``)."""
    kind = spec["kind"]
    params = {k: v for k, v in spec.items() if k not in ("kind", "features")}
    if kind == "linear":
        return LinearScorer(**params)
    if kind == "trees":
        return TreeEnsembleScorer(**params)
    raise ValueError(f"unknown scorer kind {kind!r}; expected 'linear' or 'trees'")


@lru_cache(maxsize=4)
def load_model(name: str = MODEL_FILE) -> dict[str, Any]:
    """The packaged model file ``storyline/summarize/models/<name>`` as a dict (cached)."""
    path = resources.files("storyline.summarize").joinpath("models", name)
    return json.loads(path.read_text(encoding="utf-8"))
