"""How many of the clusterer's candidate rows a bound or a gate could skip (issue 20, session 33).

Most of an online decision's cost is its candidate rows: each (article, story) pair's 17 join
features, the expensive ones being the member products, the name shares and the cues, then the
six join networks. If a row's join probability could be shown to stay under its bar from its
cheap features alone (the centroid dot products, the sizes), the rest of the row could be skipped.

This runs ``storyline cluster``'s pipeline on a JSONL stream in this process (no helpers),
records every online row with its probability and bar, and prints two measures:

- **bounds**: an exact upper bound on each row's probability (interval arithmetic through each
  network's one ReLU layer), with the named features unknown (set to their whole range); a row
  whose bound is under its bar could be skipped with the same decisions;
- **gates**: simple scores of the cheap features, cut at the lowest score of any row at half its
  bar or over; the share of rows under the cut.

Usage: python benchmarks/join_bounds.py STREAM.jsonl [--rows FILE.npz]
(``--rows``: keep the rows, or read them again without clustering when the file exists)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storyline.cluster.join import FEATURES, JoinModel  # noqa: E402
from storyline.config import Settings  # noqa: E402
from storyline.evaluate import read_records  # noqa: E402
from storyline.ingest.files import article_from_record  # noqa: E402
from storyline.pipeline import Pipeline, arrival_order  # noqa: E402

# every feature computed after the centroid products, with the range it can take
EXPENSIVE = {"member_sparse": (0.0, 1.0), "member_dense": (-1.0, 1.0), "weekday_match": (-1.0, 1.0),
             "year_match": (-1.0, 1.0), "month_match": (-1.0, 1.0), "name_share": (0.0, 1.0),
             "story_name_share": (0.0, 1.0), "figure_match": (-1.0, 1.0), "lead_share": (0.0, 1.0)}
UNKNOWN_SETS = {
    "every expensive feature": list(EXPENSIVE),
    "all but the cues": ["member_sparse", "member_dense", "name_share", "story_name_share", "figure_match", "lead_share"],
    "the member products": ["member_sparse", "member_dense"],
    "the names, figures and lead share": ["name_share", "story_name_share", "figure_match", "lead_share"],
    "the member dense product": ["member_dense"],
}


def online_rows(stream: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every online decision's candidate rows (FEATURES), join probabilities and bars."""
    articles = arrival_order([article_from_record(r, item_id=str(r.get("id", i)), origin=f"{stream}:{i}")
                              for i, r in enumerate(read_records(stream), 1)])
    pipe = Pipeline(Settings(workers=0))
    clusterer = pipe.clusterer
    rows, probs, bars = [], [], []
    score = clusterer.score

    def recording(vec):  # the clusterer's own scoring (its decisions' only call), the rows noted on the way
        cands, x, p = score(vec)
        if len(cands):
            rows.append(x)
            probs.append(p)
            bars.append(np.full(len(cands), clusterer.join_bar(vec)))
        return cands, x, p

    clusterer.score = recording  # online decisions only: the consolidation (not run here) scores through other paths
    pipe.add_all(articles)
    return np.vstack(rows), np.concatenate(probs), np.concatenate(bars)


def upper_bound(model: JoinModel, x: np.ndarray, unknown: list[str]) -> np.ndarray:
    """An upper bound on each row's join probability whatever values the ``unknown`` features take
    in their ranges: each network's hidden units bounded by interval arithmetic, then its output
    by each unit's bound in the direction its weight pulls; the networks' mean of those."""
    lo, hi = x.copy(), x.copy()
    for name in unknown:
        lo[:, FEATURES.index(name)], hi[:, FEATURES.index(name)] = EXPENSIVE[name]
    out = np.zeros(len(x))
    for layers, mean, scale in model.networks:
        if len(layers) != 2 or (scale <= 0).any():
            raise SystemExit("the bound is written for one hidden ReLU layer and positive scales")
        (w1, b1), (w2, b2) = layers
        zl, zh = (lo - mean) / scale, (hi - mean) / scale
        a, b = zl[:, :, None] * w1[None], zh[:, :, None] * w1[None]
        h_hi, h_lo = np.maximum(a, b).sum(1) + b1, np.minimum(a, b).sum(1) + b1
        v = w2[:, 0]
        logit = (np.where(v > 0, np.maximum(h_hi, 0.0), np.maximum(h_lo, 0.0)) * v).sum(1) + b2[0]
        out += 1.0 / (1.0 + np.exp(-logit))
    return out / len(model.networks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("--rows", type=Path, help="keep the rows here (read again when the file exists)")
    args = ap.parse_args()
    if args.rows and args.rows.exists():
        saved = np.load(args.rows)
        x, p, bar = saved["x"], saved["p"], saved["bar"]
    else:
        x, p, bar = online_rows(args.stream)
        if args.rows:
            np.savez(args.rows, x=x, p=p, bar=bar)
    model = JoinModel.load()
    print(f"{len(p):,} online rows; {np.mean(p < 0.01) * 100:.1f} % under 0.01; {np.mean(p >= bar / 2) * 100:.1f} % at half "
          f"their bar or over; {np.mean(bar < 0.4) * 100:.1f} % short dated items (bar {bar.min():g})")
    print("\nbounds: rows provably under their bar, with these features unknown")
    for label, unknown in UNKNOWN_SETS.items():
        bound = np.concatenate([upper_bound(model, x[i : i + 5000], unknown) for i in range(0, len(x), 5000)])
        if (bound < p - 1e-12).any():
            raise SystemExit("a bound fell under its row's probability: the bound is wrong")
        print(f"  {label:36s} {np.mean(bound < bar) * 100:5.1f} %")
    col = {f: x[:, i] for i, f in enumerate(FEATURES)}
    need = p >= bar / 2
    print("\ngates: rows under the lowest score of any row at half its bar or over")
    for label, score in (("dense_cos", col["dense_cos"]), ("sparse_cos", col["sparse_cos"]),
                         ("sp + dn", col["sparse_cos"] + col["dense_cos"]),
                         ("sp + dn + en + ti", col["sparse_cos"] + col["dense_cos"] + col["entity_cos"] + col["title_cos"])):
        print(f"  {label:36s} {np.mean(score < score[need].min()) * 100:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
