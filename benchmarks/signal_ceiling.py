#!/usr/bin/env python3
"""How much same-event signal each text representation carries, before any model sees it.

  python benchmarks/signal_ceiling.py [--data ../shared/data]

For every article of NeuS val and ECB+ dev, its nearest other article by one similarity: is it
from the same story? (nearest-neighbour accuracy over articles whose story has another member),
and the pair AUC (same-story pairs against a fixed sample of 200,000 other pairs). Similarities:
the clusterer's own TF-IDF terms (``represent``), the static embedding it uses (WordLlama,
``embed``) raw, centred on the training articles' mean, and whitened by the training stories'
within-story covariance (WCCN, a classic of speaker verification: directions that vary inside
one story count less), and weighted sums of TF-IDF and embedding. Every learned quantity (IDF,
mean, covariance) comes from the training splits (ECB+ train, NeuS train) only.

This bounds what a better combination of the clusterer's signals could buy on NeuS (docs/
clustering.md, session 13): when the nearest article is another story's, no join rule over
these similarities puts the pair together without also joining the wrong one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def nearest_accuracy(sim: np.ndarray, labels: np.ndarray) -> float:
    sim = sim.copy()
    np.fill_diagonal(sim, -np.inf)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    has = same.any(axis=1)
    return float((labels[sim.argmax(axis=1)] == labels)[has].mean())


def pair_auc(sim: np.ndarray, labels: np.ndarray, negatives: int = 200_000) -> float:
    upper = np.triu_indices(len(labels), 1)
    scores, same = sim[upper], (labels[:, None] == labels[None, :])[upper]
    pos, neg = scores[same], scores[~same]
    neg = np.random.default_rng(0).choice(neg, min(len(neg), negatives), replace=False)
    ranks = np.concatenate([pos, neg]).argsort(kind="stable").argsort()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) - 1) / 2) / (len(pos) * len(neg)))


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def within_story_covariance(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    centred = []
    for label in np.unique(labels):
        rows = x[labels == label]
        if len(rows) > 1:
            centred.append(rows - rows.mean(axis=0))
    z = np.vstack(centred)
    return z.T @ z / len(z)


def main() -> int:
    from sklearn.feature_extraction import DictVectorizer

    from storyline.cluster.corpora import neus_story_records, read_records, to_labelled
    from storyline.cluster.features import default_idf, represent
    from storyline.text.embed import WordLlamaEmbedder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    if not (args.data / "neus").is_dir():
        print(f"no shared data under {args.data}", file=sys.stderr)
        return 2
    embedder = WordLlamaEmbedder()

    def embedded(records: list[dict]) -> np.ndarray:
        return embedder.embed([f"{r.get('title') or ''}\n{r.get('text') or ''}".strip() for r in records])

    train = neus_story_records(args.data / "neus" / "train.jsonl") + read_records(args.data / "ecbplus" / "train.jsonl")
    x_train, y_train = embedded(train), np.array([str(r["label"]) for r in train])
    mean = x_train.mean(axis=0)
    within = within_story_covariance(x_train, y_train)
    eigval, eigvec = np.linalg.eigh(within + 0.3 * np.trace(within) / len(within) * np.eye(len(within)))
    whiten = eigvec @ np.diag(eigval ** -0.5) @ eigvec.T
    print(f"trained on {len(train)} training articles; IDF is the shipped table (training splits)")
    print(f"{'set':9s} {'similarity':26s} {'nearest same story':>18s} {'pair AUC':>9s}")
    for name, path in (("neus_val", args.data / "neus" / "val_articles.jsonl"), ("ecb_dev", args.data / "ecbplus" / "dev.jsonl")):
        records = read_records(path)
        labels = np.array([str(r["label"]) for r in records])
        terms = DictVectorizer().fit_transform([v.terms for v in represent(to_labelled(records)[0], None, default_idf())])
        tfidf = (terms @ terms.T).toarray()
        x = embedded(records)
        raw, centred = unit(x) @ unit(x).T, unit(x - mean) @ unit(x - mean).T
        wccn = unit((x - mean) @ whiten) @ unit((x - mean) @ whiten).T
        rows = [("tf-idf terms", tfidf), ("embedding, raw", raw), ("embedding, centred", centred),
                ("embedding, WCCN", wccn)]
        rows += [(f"tf-idf + {a} x raw", tfidf + a * raw) for a in (0.25, 0.5, 1.0)]
        rows += [(f"tf-idf + {a} x centred", tfidf + a * centred) for a in (0.25, 0.5, 1.0)]
        for label, sim in rows:
            print(f"{name:9s} {label:26s} {nearest_accuracy(sim, labels):18.4f} {pair_auc(sim, labels):9.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
