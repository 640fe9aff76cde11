#!/usr/bin/env python3
"""Train the learned summarizer's three small models and write storyline/summarize/models/learned.v1.json.

  python scripts/train_summarizer.py [--data ../shared/data/neus] [--out storyline/summarize/models/learned.v1.json]

Reads only the NeuS *training* split (``train.jsonl``); deterministic (fixed seeds, no threads
racing), so running it twice writes the same file. Needs scikit-learn and, for the targets,
rouge-score (``pip install -e .[test]``); the runtime needs neither.

1. Off-topic items: a logistic model on item features (:mod:`storyline.summarize.noise`), trained
   on training stories with 0-3 headlines (and sometimes whole articles) from other training
   stories shuffled in, and some on-topic items dropped or reduced to their headline.
2. Words and word pairs: gradient-boosted trees (:mod:`storyline.summarize.words`); targets =
   "the reference summary uses this word at least k times" and "... contains this pair".
3. Headlines: small gradient-boosted trees on features of each title and of its parts around a
   dash or colon (including the out-of-fold predicted summary-worthiness of its words); target =
   ROUGE-1 F1 of that option against the reference headline.
4. Selection settings are constants chosen by cross-validation on train (``SELECTION``).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rouge_score import rouge_scorer  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from storyline.evaluate import read_records  # noqa: E402
from storyline.models import Article  # noqa: E402
from storyline.summarize.base import story_articles  # noqa: E402
from storyline.text import split_sentences  # noqa: E402
from storyline.summarize.features import StoryView, story_sentences  # noqa: E402
from storyline.summarize.headline import HEADLINE_FEATURES, headline_features, title_variants  # noqa: E402
from storyline.summarize.noise import ITEM_FEATURES, item_features  # noqa: E402
from storyline.summarize.words import PAIR_FEATURES, WORD_FEATURES, tokens, word_table  # noqa: E402

SEED = 13
_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)



# ---------------------------------------------------------------- off-topic items

def noisy_variants(stories: list[dict[str, Any]], rng: random.Random) -> list[tuple[list[Article], list[int]]]:
    """(articles, labels) with label 1 for foreign items."""
    out = []
    for n, story in enumerate(stories):
        arts = story_articles(story)
        labels = [0] * len(arts)
        if rng.random() < 0.3:  # fewer on-topic items
            keep = sorted(rng.sample(range(len(arts)), rng.randint(1, len(arts))))
            arts, labels = [arts[i] for i in keep], [labels[i] for i in keep]
        if rng.random() < 0.15:  # an on-topic item reduced to its headline
            i = rng.randrange(len(arts))
            arts[i] = Article(id=arts[i].id, title=arts[i].title, text="")
        if rng.random() < 0.2:  # items as one-sentence lines, as in a plain-text file
            arts = [Article(id=f"{a.id}-{j}", text=s) for a in arts for j, s in enumerate(split_sentences(a.text))] + [
                Article(id=a.id, title=a.title) for a in arts if rng.random() < 0.5 or not a.text]
            labels = [0] * len(arts)
        for _ in range(rng.choice([0, 1, 2, 2, 3])):
            other = stories[rng.randrange(len(stories))]
            if other is story:
                continue
            src = other["articles"][rng.randrange(len(other["articles"]))]
            text = src.get("text", "") if rng.random() < 0.15 else ""
            arts.append(Article(id=f"x{n}-{len(arts)}", title=src.get("title", ""), text=text))
            labels.append(1)
        order = list(range(len(arts)))
        rng.shuffle(order)
        out.append(([arts[i] for i in order], [labels[i] for i in order]))
    return out


def train_offtopic(stories: list[dict[str, Any]]) -> dict[str, Any]:
    rng = random.Random(SEED)
    xs, ys = [], []
    for arts, labels in noisy_variants(stories, rng):
        if len(arts) < 2:
            continue
        xs.extend(item_features(StoryView.build(arts)))
        ys.extend(labels)
    x, y = np.asarray(xs), np.asarray(ys)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight={0: 3.0, 1: 1.0})
    model.fit((x - mean) / scale, y)
    p = model.predict_proba((x - mean) / scale)[:, 1]
    print(f"off-topic: {len(y)} items, {int(y.sum())} foreign; train recall {np.mean(p[y == 1] > .5):.3f}, "
          f"on-topic dropped {np.mean(p[y == 0] > .5):.4f}", file=sys.stderr)
    return {"kind": "linear", "features": list(ITEM_FEATURES), "weights": model.coef_[0].round(6).tolist(),
            "bias": round(float(model.intercept_[0]), 6), "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(), "threshold": 0.5}


# ---------------------------------------------------------------- words and pairs

def word_data(stories: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Word rows with target "the reference uses the word at least k times", pair rows with
    target "the reference contains the pair" (tokens as :func:`storyline.summarize.words.tokens`)."""
    xw, yw, xp, yp = [], [], [], []
    for story in stories:
        arts = story_articles(story)
        view = StoryView.build(arts)
        table = word_table(view, story_sentences(arts, view.members))
        ref = tokens(story["reference_summary"])
        counts, pairs = Counter(ref), set(zip(ref, ref[1:]))
        xw.extend(table.word_rows)
        yw.extend(float(counts[w] >= k) for w, k in table.words)
        xp.extend(table.pair_rows)
        yp.extend(float(p in pairs) for p in table.pairs)
    return np.asarray(xw), np.asarray(yw), np.asarray(xp), np.asarray(yp)


def hist_gbm(leaves: int = 15, rate: float = 0.1) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=leaves, max_depth=5, learning_rate=rate,
                                         early_stopping=False, random_state=SEED)


def export_hist(model: HistGradientBoostingRegressor, features: tuple[str, ...]) -> dict[str, Any]:
    """A fitted HistGradientBoostingRegressor as padded node arrays (see TreeEnsembleScorer)."""
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


# ---------------------------------------------------------------- headlines

def out_of_fold_word_chances(stories: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Per story, each word's predicted chance of use (k=1), from a word model fitted on the
    other half of the stories (so headline training sees honest, not memorized, chances)."""
    tables = []
    for story in stories:
        arts = story_articles(story)
        view = StoryView.build(arts)
        tables.append(word_table(view, story_sentences(arts, view.members)))
    chances: list[dict[str, float]] = [{} for _ in stories]
    for fold in (0, 1):
        fit = [i for i in range(len(stories)) if i % 2 != fold]
        xw, yw, _, _ = word_data([stories[i] for i in fit])
        model = hist_gbm().fit(xw, yw)
        held = [i for i in range(fold, len(stories), 2) if tables[i].words]
        p = model.predict(np.asarray([row for i in held for row in tables[i].word_rows])).clip(0, 1)
        start = 0
        for i in held:  # one predict call for the whole half: per-story calls are slow
            part = p[start:start + len(tables[i].words)]
            start += len(tables[i].words)
            chances[i] = {w: float(q) for (w, k), q in zip(tables[i].words, part) if k == 1}
    return chances


def headline_data(stories: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    chances = out_of_fold_word_chances(stories)
    xs, ys = [], []
    for story, word_p in zip(stories, chances):
        arts = story_articles(story)
        view = StoryView.build(arts)
        options = [(i, text, part) for i in view.members if arts[i].title.strip()
                   for text, part in title_variants(arts[i].title)]
        if not options:
            continue
        xs.extend(headline_features(view, options, word_p))
        ys.extend(_SCORER.score(story["reference_title"], text)["rouge1"].fmeasure for _, text, _ in options)
    return np.asarray(xs), np.asarray(ys)


# ---------------------------------------------------------------- selection settings
# Chosen by 2-fold cross-validation on train (R1 of the selected sentences; see docs/summaries.md):
# reference_words 30/40/50/66/90 and pair_weight 0.5/1/2 were tried; differences were within 0.2.
SELECTION = {"candidates": 12, "reference_words": 40.0, "pair_weight": 1.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "neus")
    ap.add_argument("--out", type=Path, default=ROOT / "storyline" / "summarize" / "models" / "learned.v1.json")
    args = ap.parse_args()
    train = read_records(args.data / "train.jsonl")
    model: dict[str, Any] = {"name": "learned.v1", "trained_on": "NeuS train.jsonl", "seed": SEED}
    model["offtopic"] = train_offtopic(train)
    hx, hy = headline_data(train)
    print(f"headlines: {len(hy)} titles", file=sys.stderr)
    model["headline"] = export_hist(hist_gbm(leaves=4, rate=0.05).fit(hx, hy), HEADLINE_FEATURES)
    xw, yw, xp, yp = word_data(train)
    print(f"words: {len(yw)} rows ({yw.mean():.3f} used); pairs: {len(yp)} rows ({yp.mean():.3f} used)", file=sys.stderr)
    model["words"] = export_hist(hist_gbm().fit(xw, yw), WORD_FEATURES)
    model["pairs"] = export_hist(hist_gbm().fit(xp, yp), PAIR_FEATURES)
    model["selection"] = dict(SELECTION)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB), selection {model['selection']}", file=sys.stderr)


if __name__ == "__main__":
    main()
