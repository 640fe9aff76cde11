#!/usr/bin/env python3
"""Train the learned summarizer's three small models and write storyline/summarize/models/learned.v1.json.

  python scripts/train_summarizer.py [--data ../shared/data/neus] [--out storyline/summarize/models/learned.v1.json]

Reads only the NeuS *training* split (``train.jsonl``); deterministic (fixed seeds, no threads
racing), so running it twice writes the same file. Needs scikit-learn and, for the targets,
rouge-score (``pip install -e .[test]``); the runtime needs neither.

1. Off-topic items: a logistic model on item features (:mod:`storyline.summarize.noise`), trained
   on training stories with 0-3 headlines (and sometimes whole articles) from other training
   stories shuffled in, and some on-topic items dropped or reduced to their headline.
2. Sentences: gradient-boosted trees on sentence features (:mod:`storyline.summarize.features`);
   target = (clipped unigram matches + clipped bigram matches) with the reference summary per
   word of the sentence, computed with rouge-score's tokenizer and Porter stemmer.
3. Headlines: gradient-boosted trees on title features; target = ROUGE-1 F1 of the (trimmed)
   title against the reference headline.
4. Selection settings (redundancy penalty, length power) by grid search on the last
   ``--tune-stories`` training stories, scored with a sentence model fitted without them; the
   shipped sentence model is then refitted on all of train.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rouge_score import rouge_scorer  # noqa: E402
from rouge_score.tokenizers import DefaultTokenizer  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from storyline.models import Article  # noqa: E402
from storyline.summarize.features import (  # noqa: E402
    SENTENCE_FEATURES, StoryView, sentence_features, story_sentences, trim_title,
)
from storyline.summarize.headline import HEADLINE_FEATURES, headline_features  # noqa: E402
from storyline.summarize.noise import ITEM_FEATURES, item_features  # noqa: E402

SEED = 13
BIGRAM_WEIGHT = 1.0
_TOKENIZER = DefaultTokenizer(use_stemmer=True)
_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def to_articles(story: dict[str, Any]) -> list[Article]:
    return [Article(id=f"{story['id']}-{i}", title=a.get("title") or "", text=a.get("text") or "")
            for i, a in enumerate(story["articles"])]


# ---------------------------------------------------------------- off-topic items

def noisy_variants(stories: list[dict[str, Any]], rng: random.Random) -> list[tuple[list[Article], list[int]]]:
    """(articles, labels) with label 1 for foreign items."""
    out = []
    for n, story in enumerate(stories):
        arts = to_articles(story)
        labels = [0] * len(arts)
        if rng.random() < 0.3:  # fewer on-topic items
            keep = sorted(rng.sample(range(len(arts)), rng.randint(1, len(arts))))
            arts, labels = [arts[i] for i in keep], [labels[i] for i in keep]
        if rng.random() < 0.15:  # an on-topic item reduced to its headline
            i = rng.randrange(len(arts))
            arts[i] = Article(id=arts[i].id, title=arts[i].title, text="")
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


# ---------------------------------------------------------------- sentences

def ngram_matches(sentence: list[str], reference: Counter[Any], n: int) -> int:
    grams = Counter(tuple(sentence[i:i + n]) for i in range(len(sentence) - n + 1))
    return sum(min(c, reference[g]) for g, c in grams.items())


def sentence_data(stories: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for story in stories:
        arts = to_articles(story)
        view = StoryView.build(arts)
        sents = story_sentences(arts, view.members)
        if not sents:
            continue
        ref = _TOKENIZER.tokenize(story["reference_summary"])
        uni = Counter((t,) for t in ref)
        bi = Counter(tuple(ref[i:i + 2]) for i in range(len(ref) - 1))
        xs.extend(sentence_features(view, sents))
        for s in sents:
            toks = _TOKENIZER.tokenize(s.text)
            m = ngram_matches(toks, uni, 1) + BIGRAM_WEIGHT * ngram_matches(toks, bi, 2)
            ys.append(m / max(s.words, 1))
    return np.asarray(xs), np.asarray(ys)


def export_trees(model: GradientBoostingRegressor, features: tuple[str, ...]) -> dict[str, Any]:
    trees = [est[0].tree_ for est in model.estimators_]
    width = max(t.node_count for t in trees)
    feature, threshold, left, right, value = [], [], [], [], []
    for t in trees:
        f, th, lo, hi, v = [], [], [], [], []
        for node in range(width):
            if node < t.node_count and t.children_left[node] != -1:
                f.append(int(t.feature[node])); th.append(float(t.threshold[node]))
                lo.append(int(t.children_left[node])); hi.append(int(t.children_right[node])); v.append(0.0)
            else:
                leaf = node < t.node_count
                f.append(0); th.append(0.0); lo.append(node); hi.append(node)
                v.append(round(float(t.value[node][0][0]) * model.learning_rate, 7) if leaf else 0.0)
        feature.append(f); threshold.append(th); left.append(lo); right.append(hi); value.append(v)
    return {"kind": "trees", "features": list(features), "init": float(model.init_.constant_[0][0]),
            "feature": feature, "threshold": threshold, "left": left, "right": right, "value": value,
            "depth": int(model.max_depth)}


def gbm(n_estimators: int, depth: int) -> GradientBoostingRegressor:
    return GradientBoostingRegressor(n_estimators=n_estimators, max_depth=depth, learning_rate=0.05,
                                     subsample=0.8, min_samples_leaf=20, random_state=SEED)


# ---------------------------------------------------------------- headlines

def headline_data(stories: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for story in stories:
        arts = to_articles(story)
        view = StoryView.build(arts)
        titled = [i for i in view.members if arts[i].title.strip()]
        if not titled:
            continue
        xs.extend(headline_features(view, titled))
        for i in titled:
            ys.append(_SCORER.score(story["reference_title"], trim_title(arts[i].title))["rouge1"].fmeasure)
    return np.asarray(xs), np.asarray(ys)


# ---------------------------------------------------------------- selection settings

def tune_selection(model: dict[str, Any], stories: list[dict[str, Any]]) -> dict[str, Any]:
    from storyline.summarize.learned import LearnedSummarizer

    best: tuple[float, dict[str, Any]] = (-1.0, {})
    for power in (1.0, 1.1, 1.2):
        for redundancy in (0.0, 0.01, 0.02, 0.04, 0.08):
            model["selection"] = {"redundancy": redundancy, "length_power": power, "candidates": 12}
            summ = LearnedSummarizer(model)
            r1 = statistics.mean(
                _SCORER.score(s["reference_summary"], summ(to_articles(s)).text)["rouge1"].fmeasure for s in stories
            )
            print(f"selection power={power} redundancy={redundancy}: R1 {100 * r1:.2f}", file=sys.stderr)
            if r1 > best[0] + 1e-9:
                best = (r1, dict(model["selection"]))
    return best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "neus")
    ap.add_argument("--out", type=Path, default=ROOT / "storyline" / "summarize" / "models" / "learned.v1.json")
    ap.add_argument("--trees", type=int, default=150)
    ap.add_argument("--tune-stories", type=int, default=600)
    args = ap.parse_args()
    train = load(args.data / "train.jsonl")
    model: dict[str, Any] = {"name": "learned.v1", "trained_on": "NeuS train.jsonl", "seed": SEED}
    model["offtopic"] = train_offtopic(train)
    fit, held = train[: -args.tune_stories], train[-args.tune_stories:]
    hx, hy = headline_data(train)
    print(f"headlines: {len(hy)} titles", file=sys.stderr)
    model["headline"] = export_trees(gbm(100, 2).fit(hx, hy), HEADLINE_FEATURES)
    x, y = sentence_data(fit)
    model["sentence"] = export_trees(gbm(args.trees, 3).fit(x, y), SENTENCE_FEATURES)
    model["selection"] = tune_selection(model, held)
    x, y = sentence_data(train)
    print(f"sentences: {len(y)} rows, mean target {y.mean():.3f}", file=sys.stderr)
    model["sentence"] = export_trees(gbm(args.trees, 3).fit(x, y), SENTENCE_FEATURES)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB), selection {model['selection']}", file=sys.stderr)


if __name__ == "__main__":
    main()
