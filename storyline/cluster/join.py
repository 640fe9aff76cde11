"""The clusterer's learned decisions: the feature lists, the join model (the probability that an
article belongs to a story) and the merge model's input row, with the files
``scripts/train_clusterer.py`` writes them to. :mod:`.stream` uses them to decide joins and merges.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..kernels import compiled
from ..scorers import scorer_from_dict
from .features import IDF_FILE, MODELS_DIR, ArticleVector, IdfTable

# Every feature the clusterer can compute for an (article, story) pair; the join model is trained
# on FEATURES, a subset (see docs/clustering.md for what each choice measured).
ALL_FEATURES = (
    "sparse_cos", "dense_cos", "entity_cos", "title_cos", "sparse_x_dense",
    "log_size", "short", "rank_sparse", "rank_dense", "dense_margin", "best_margin", "log_entities", "member_sparse", "member_dense",
    "weekday_match", "year_match", "month_match", "name_share", "story_name_share", "figure_match", "lead_share",
)
FEATURES = (
    "sparse_cos", "dense_cos", "entity_cos", "title_cos", "sparse_x_dense",
    "log_size", "short", "log_entities", "member_sparse", "member_dense",
    "weekday_match", "year_match", "month_match", "name_share", "story_name_share", "figure_match", "lead_share",
)
_COLUMNS = np.asarray([ALL_FEATURES.index(f) for f in FEATURES])
MODEL_FILE = MODELS_DIR / "join-mlp.v2.json"
MERGE_FILE = MODELS_DIR / "merge-trees.v1.json"
CENTRE_FILE = MODELS_DIR / "dense-centre.v1.json"
# A consolidation candidate (two mutually-best stories) as the merge model sees it: both
# directions' join probability, embedding cosine, the smaller and larger size, and the
# pair's FEATURES row (the first story as a pseudo-article against the second).
MERGE_FEATURES = ("p", "p_back", "dense", "log_min_size", "log_max_size", *(f"pair_{f}" for f in FEATURES))


_LOG1P_SIZE = tuple(math.log1p(n) for n in range(11))  # log_size of min(size, 10), for the compiled rows


def compiled_rows(vec: ArticleVector, states: Sequence[Any], dots: list[tuple[float, float, float, float]],
                  names: dict[str, float], names_total: float, lead: dict[str, float], lead_total: float,
                  core_of: Any) -> np.ndarray | None:
    """The :data:`ALL_FEATURES` rows of ``vec`` against each of ``states`` by the compiled kernel
    (``StoryClusterer._feature_row``'s values to the bit; its arguments), or None: the kernels
    were not built, or a value was not finite (the Python rows then decide, as they always did)."""
    native = compiled()
    if native is None:
        return None
    x = np.empty((len(states), len(ALL_FEATURES)))
    article = (vec.dense, float(vec.short), math.log1p(len(vec.entities)), vec.days, vec.years, vec.months, vec.figures)
    done = native.feature_rows(x, article, list(states), dots, names, names_total, lead, lead_total, core_of, _LOG1P_SIZE,
                               np.maximum.reduce)
    return x if done else None


def merge_row(p: float, p_back: float, dense: float, size_a: int, size_b: int, row: np.ndarray) -> list[float]:
    """The :data:`MERGE_FEATURES` row of a consolidation candidate."""
    return [p, p_back, dense, math.log1p(min(size_a, size_b)), math.log1p(max(size_a, size_b)), *map(float, row)]


class ApartWhenBig:
    """A merge model that never merges two stories that each hold at least ``size`` articles.

    Two stories that both grew that big on arrival were each joined by report after report
    without joining each other: they are look-alike events (two earthquakes, two arrests of one
    kind), not one event's scattered halves, which are small. The merge model learned from pairs
    that are mostly small and scores a big pair on topic overlap; here such a pair scores
    ``-inf`` (log-odds), whatever the model says. Every consolidation decision that asks the merge
    model (mutual pairs, the one-sided pass, whether a split's two parts are one story) obeys it;
    the dated rule of ``StoryClusterer.mutual_join_p`` does not ask it.
    """

    def __init__(self, model: Any, size: int) -> None:
        self.model, self.size = model, size
        self._column = MERGE_FEATURES.index("log_min_size")
        self._bar = math.log1p(size) - 1e-9

    def predict(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        x = np.asarray(rows, dtype=np.float64)
        z = np.asarray(self.model.predict(x), dtype=np.float64)
        if len(x):
            z = np.where(x[:, self._column] >= self._bar, -np.inf, z)
        return z


class JoinModel:
    """Probability that an article belongs to a story, from its :data:`FEATURES` row.

    One or more small multilayer perceptrons (ReLU hidden layers, logistic output) over
    standardized features, their probabilities averaged; with no hidden layers a network is a
    logistic regression. The committed model averages six networks trained from different seeds:
    one network's decisions on look-alike events turn on its seed.
    """

    def __init__(self, layers: Sequence[tuple[Any, Any]], mean: Sequence[float], scale: Sequence[float]) -> None:
        self.networks = [([(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)) for w, b in layers],
                          np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64))]
        self._stacked: Stacked | None = None  # set by from_dict when its networks stack

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JoinModel":
        """From the exported form: ``{"networks": [{"layers", "mean", "scale"}, ...]}`` (or one
        network's ``layers``/``mean``/``scale`` at the top level)."""
        models = [cls([(layer["w"], layer["b"]) for layer in n["layers"]], n["mean"], n["scale"]) for n in data.get("networks") or [data]]
        first = models[0].networks[0]
        # networks trained on the same rows share their standardization: one array pair, so
        # :meth:`predict` standardizes a batch once for all of them
        models[0].networks = [(layers, first[1], first[2]) if np.array_equal(mean, first[1]) and np.array_equal(scale, first[2])
                              else (layers, mean, scale) for layers, mean, scale in (m.networks[0] for m in models)]
        models[0]._stacked = _stack(models[0].networks)
        return models[0]

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "JoinModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path} was trained on other features; rerun scripts/train_clusterer.py")
        return cls.from_dict(data)

    @classmethod
    def linear(cls, coef: Sequence[float], intercept: float) -> "JoinModel":
        """A logistic model on raw (unscaled) features."""
        n = len(FEATURES)
        return cls([(np.asarray(coef, dtype=np.float64).reshape(n, 1), [intercept])], [0.0] * n, [1.0] * n)

    @classmethod
    def fallback(cls) -> "JoinModel":
        """A hand-set model (sparse and dense similarity only), used when no trained file exists."""
        return cls.linear([12.0, 8.0] + [0.0] * (len(FEATURES) - 2), -7.0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self._stacked is not None:
            return _predict_stacked(self._stacked, x)
        out = np.zeros(len(x))
        standardized: dict[tuple[int, int], np.ndarray] = {}
        for layers, mean, scale in self.networks:
            h = standardized.get((id(mean), id(scale)))
            if h is None:
                h = standardized[(id(mean), id(scale))] = (x - mean) / scale
            for i, (w, b) in enumerate(layers):
                h = h @ w + b
                if i < len(layers) - 1:
                    h = np.maximum(h, 0.0)
            out += 1.0 / (1.0 + np.exp(-h[:, 0]))
        return out / len(self.networks)


Stacked = tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]  # mean, scale, each layer's (w, b) of every network


def _stack(networks: list[tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]]) -> Stacked | None:
    """The networks' layers as one array per layer (network first) when they share their
    standardization and their shapes, else None: :meth:`JoinModel.predict` then runs each layer of
    all of them in one ``matmul`` instead of a Python loop of small products (a call of 6
    networks on 10 rows: 45 us -> 15 us; the clusterer makes about 30,000 calls on 10k articles)."""
    first = networks[0]
    shape = [(w.shape, b.shape) for w, b in first[0]]
    if len(networks) < 2 or any(mean is not first[1] or scale is not first[2] or [(w.shape, b.shape) for w, b in layers] != shape
                                for layers, mean, scale in networks):
        return None
    return first[1], first[2], [(np.stack([layers[i][0] for layers, _, _ in networks]),
                                 np.stack([layers[i][1] for layers, _, _ in networks])[:, None, :]) for i in range(len(first[0]))]


def _predict_stacked(stacked: Stacked, x: np.ndarray) -> np.ndarray:
    """:meth:`JoinModel.predict` by stacked layers, to the bit: each network's slice of a
    ``matmul`` is the same BLAS product as its own ``h @ w``, the element-wise steps are the
    same, and the probabilities are added in network order (tests/test_cluster_features.py)."""
    mean, scale, layers = stacked
    h = (x - mean) / scale
    for i, (w, b) in enumerate(layers):
        h = np.matmul(h, w) + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    p = 1.0 / (1.0 + np.exp(-h[..., 0]))
    out = p[0].copy()
    for row in p[1:]:
        out += row
    return out / len(p)


def load_models(folder: Path) -> dict[str, Any]:
    """The join model, merge model and IDF table ``scripts/train_clusterer.py`` wrote to ``folder``,
    as :class:`StoryClusterer` keyword arguments (used to evaluate models trained elsewhere)."""
    folder = Path(folder)
    return {"model": JoinModel.load(folder / MODEL_FILE.name),
            "merge_model": scorer_from_dict(json.loads((folder / MERGE_FILE.name).read_text(encoding="utf-8"))),
            "idf": IdfTable.load(folder / IDF_FILE.name), "dense_centre": load_centre(folder / CENTRE_FILE.name)}


def load_centre(path: Path = CENTRE_FILE, embedder: Any = None) -> np.ndarray | None:
    """The training articles' mean embedding (the lone-article step compares cosines around it),
    or None when ``path`` does not exist or, given ``embedder``, was computed with another
    embedder (name and dimension): a mean belongs to the vectors it was taken over."""
    if not Path(path).exists():
        return None
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if embedder is not None and spec.get("embedder") != f"{embedder.name}/{embedder.dim}":
        return None
    return np.asarray(spec["mean"], dtype=np.float64)


def centre_for(embedder: Any, centre: np.ndarray | None | str = "default") -> np.ndarray | None:
    """The mean embedding a clusterer with ``embedder`` uses: the committed one when it was taken
    with that embedder ("default"), none without an embedder or for None, or the vector given,
    which must have the embedder's dimension (ValueError otherwise)."""
    if isinstance(centre, str):
        return load_centre(embedder=embedder) if embedder is not None else None
    if centre is None:
        return None
    if embedder is None or len(centre) != embedder.dim:
        raise ValueError(f"dense_centre has {len(centre)} dimensions; the embedder gives {embedder.dim if embedder else 'none'}")
    return np.asarray(centre, dtype=np.float64)


__all__ = ["ApartWhenBig", "ALL_FEATURES", "compiled_rows", "FEATURES", "MERGE_FEATURES", "MODEL_FILE", "MERGE_FILE", "CENTRE_FILE", "centre_for", "load_centre", "JoinModel", "load_models", "merge_row"]
