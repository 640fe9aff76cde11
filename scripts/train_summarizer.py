#!/usr/bin/env python3
"""Train the learned summarizer's small models and write storyline/summarize/models/learned.v2.json.

  python scripts/train_summarizer.py [--data ../shared/data/neus] [--out storyline/summarize/models/learned.v2.json]

Reads only the NeuS *training* split (``train.jsonl``); deterministic (fixed seeds, no threads
racing), so running it twice writes the same file. Needs scikit-learn and, for the targets,
rouge-score (``pip install -e .[test]``); the runtime needs neither.

1. Off-topic items: a logistic model on item features (:mod:`storyline.summarize.noise`), trained
   on training stories with 0-3 headlines (and sometimes whole articles) from other training
   stories shuffled in, and some on-topic items dropped or reduced to their headline.
2. Lexicon: per word seen in at least 3 training stories, the smoothed share of them whose
   reference summary / headline uses it (a word feature; training rows see a lexicon built
   without their own story, five folds).
3. Words, word pairs and headline words: gradient-boosted trees (:mod:`storyline.summarize.words`);
   targets = "the reference summary uses this word at least k times", "... contains this pair"
   and "the reference headline uses this word".
4. Headlines: small gradient-boosted trees on features of each title and of its parts around a
   dash or colon (including the out-of-fold predicted summary- and headline-word chances);
   target = ROUGE-1 F1 of that option against the reference headline.
5. Selection settings are constants chosen by cross-validation on train (``SELECTION``).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
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
from storyline.summarize.scoring import export_hist  # noqa: E402
from storyline.summarize.noise import ITEM_FEATURES, item_features  # noqa: E402
from storyline.summarize.words import (  # noqa: E402
    PAIR_FEATURES, TITLE_WORD_FEATURES, WORD_FEATURES, Lexicon, WordTable, tokens, word_table,
)

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

def story_table(story: dict[str, Any], lexicon: Lexicon | None = None) -> WordTable:
    arts = story_articles(story)
    view = StoryView.build(arts)
    return word_table(view, story_sentences(arts, view.members), lexicon)


LEXICON_FOLDS, LEXICON_MIN_STORIES, LEXICON_SMOOTHING = 5, 3, 5.0


def build_lexicon(stories: list[dict[str, Any]]) -> Lexicon:
    """Per word seen in at least LEXICON_MIN_STORIES stories: smoothed share of them whose
    reference summary / headline uses it, and log(1 + stories)."""
    seen: Counter[str] = Counter()
    in_summary: Counter[str] = Counter()
    in_headline: Counter[str] = Counter()
    for story in stories:
        words = {t for a in story["articles"] for t in tokens(a.get("title", "") + " " + a.get("text", ""))}
        summary, headline = set(tokens(story["reference_summary"])), set(tokens(story["reference_title"]))
        seen.update(words)
        in_summary.update(words & summary)
        in_headline.update(words & headline)
    total = sum(seen.values()) or 1
    rate_s, rate_h = sum(in_summary.values()) / total, sum(in_headline.values()) / total
    a = LEXICON_SMOOTHING
    entries = {w: (round((in_summary[w] + a * rate_s) / (n + a), 4), round((in_headline[w] + a * rate_h) / (n + a), 4),
                   round(float(np.log1p(n)), 3))
               for w, n in sorted(seen.items()) if n >= LEXICON_MIN_STORIES}
    return Lexicon(entries, (round(rate_s, 4), round(rate_h, 4), 0.0))


def lexicon_dict(lexicon: Lexicon) -> dict[str, Any]:
    words = sorted(lexicon.entries)
    return {"words": words, "values": [list(lexicon.entries[w]) for w in words], "default": list(lexicon.default)}


def training_tables(stories: list[dict[str, Any]]) -> list[WordTable]:
    """Word tables of the training stories, each with a lexicon built without its own story
    (LEXICON_FOLDS folds), so the word models do not learn to trust memorized answers."""
    tables: list[WordTable | None] = [None] * len(stories)
    for fold in range(LEXICON_FOLDS):
        lexicon = build_lexicon([s for i, s in enumerate(stories) if i % LEXICON_FOLDS != fold])
        for i in range(fold, len(stories), LEXICON_FOLDS):
            tables[i] = story_table(stories[i], lexicon)
    return tables  # type: ignore[return-value]


def word_data(stories: list[dict[str, Any]], tables: list[WordTable]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Training rows per model: ``words`` with target "the reference summary uses the word at
    least k times", ``pairs`` "... contains the pair", ``title_words`` "the reference headline
    uses the word" (tokens as :func:`storyline.summarize.words.tokens`)."""
    rows: dict[str, tuple[list[list[float]], list[float]]] = {k: ([], []) for k in ("words", "pairs", "title_words")}
    for story, table in zip(stories, tables):
        ref = tokens(story["reference_summary"])
        counts, pairs, title = Counter(ref), set(zip(ref, ref[1:])), set(tokens(story["reference_title"]))
        rows["words"][0].extend(table.word_rows)
        rows["words"][1].extend(float(counts[w] >= k) for w, k in table.words)
        rows["pairs"][0].extend(table.pair_rows)
        rows["pairs"][1].extend(float(p in pairs) for p in table.pairs)
        rows["title_words"][0].extend(table.title_rows)
        rows["title_words"][1].extend(float(w in title) for w in table.title_words)
    return {k: (np.asarray(x), np.asarray(y)) for k, (x, y) in rows.items()}


FEATURES = {"words": WORD_FEATURES, "pairs": PAIR_FEATURES, "title_words": TITLE_WORD_FEATURES}


def train_words(stories: list[dict[str, Any]], tables: list[WordTable]) -> dict[str, Any]:
    """The word, pair and headline-word models, exported, and the lexicon built from all of ``stories``."""
    data = word_data(stories, tables)
    y = data["words"][1]
    print(f"words: {len(y)} rows ({y.mean():.3f} used); pairs: {len(data['pairs'][1])}; "
          f"title words: {len(data['title_words'][1])}", file=sys.stderr)
    out = {k: export_hist(hist_gbm().fit(*data[k]), FEATURES[k]) for k in ("words", "pairs", "title_words")}
    out["lexicon"] = lexicon_dict(build_lexicon(stories))
    return out


def hist_gbm(leaves: int = 15, rate: float = 0.1) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=leaves, max_depth=5, learning_rate=rate,
                                         early_stopping=False, random_state=SEED)


# ---------------------------------------------------------------- headlines

@dataclass
class OutOfFold:
    """A training story's word chances from models fitted on the other half of the stories."""

    word_p: dict[str, float]  # chance the summary uses the word (k=1)
    title_p: dict[str, float]  # chance the headline uses the word


def out_of_fold(stories: list[dict[str, Any]], tables: list[WordTable]) -> list[OutOfFold]:
    """Per story, predicted summary- and headline-word chances from word models fitted on the
    other half of the stories (so headline training sees honest, not memorized, chances)."""
    out: list[OutOfFold] = [OutOfFold({}, {}) for _ in stories]
    for fold in (0, 1):
        fit = [i for i in range(len(stories)) if i % 2 != fold]
        data = word_data([stories[i] for i in fit], [tables[i] for i in fit])
        words, titles = hist_gbm().fit(*data["words"]), hist_gbm().fit(*data["title_words"])
        held = list(range(fold, len(stories), 2))
        # one predict call per model and half: per-story calls are slow
        p = iter(words.predict(np.asarray([r for i in held for r in tables[i].word_rows])).clip(0, 1))
        q = iter(titles.predict(np.asarray([r for i in held for r in tables[i].title_rows])).clip(0, 1))
        for i in held:
            word_p = [(w, float(next(p))) for w, k in tables[i].words]
            out[i] = OutOfFold({w: c for (w, k), (_, c) in zip(tables[i].words, word_p) if k == 1},
                               {w: float(next(q)) for w in tables[i].title_words})
    return out


def headline_data(stories: list[dict[str, Any]], oof: list[OutOfFold]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for story, o in zip(stories, oof):
        arts = story_articles(story)
        view = StoryView.build(arts)
        options = [(i, text, part) for i in view.members if arts[i].title.strip()
                   for text, part in title_variants(arts[i].title)]
        if not options:
            continue
        xs.extend(headline_features(view, options, o.word_p, o.title_p))
        ys.extend(_SCORER.score(story["reference_title"], text)["rouge1"].fmeasure for _, text, _ in options)
    return np.asarray(xs), np.asarray(ys)


def train_headline(stories: list[dict[str, Any]], oof: list[OutOfFold]) -> dict[str, Any]:
    hx, hy = headline_data(stories, oof)
    print(f"headlines: {len(hy)} options", file=sys.stderr)
    return export_hist(hist_gbm(leaves=4, rate=0.05).fit(hx, hy), HEADLINE_FEATURES)


# ---------------------------------------------------------------- selection settings
# Chosen by 2-fold cross-validation on train (ROUGE of the selected sentences; see docs/summaries.md).
# The F1 estimate assumes an ideal summary of reference_share x the story's words (NeuS train:
# reference length vs. story words r = 0.50); shares 0.14-0.2 and powers 0.5-1.5 of the story length,
# fixed lengths 30/40/50/66/90 and pair_weight 0.5/1/1.5/2 were tried, all within 0.2 ROUGE-1.
SELECTION = {"candidates": 12, "reference_share": 0.17, "reference_range": [10.0, 120.0], "pair_weight": 1.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "neus")
    ap.add_argument("--out", type=Path, default=ROOT / "storyline" / "summarize" / "models" / "learned.v2.json")
    args = ap.parse_args()
    train = read_records(args.data / "train.jsonl")
    model: dict[str, Any] = {"name": "learned.v2", "trained_on": "NeuS train.jsonl", "seed": SEED}
    model["offtopic"] = train_offtopic(train)
    tables = training_tables(train)
    oof = out_of_fold(train, tables)
    model["headline"] = train_headline(train, oof)
    model.update(train_words(train, tables))
    model["selection"] = dict(SELECTION)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB), selection {model['selection']}", file=sys.stderr)


if __name__ == "__main__":
    main()
