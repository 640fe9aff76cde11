#!/usr/bin/env python3
"""Two-fold cross-validation of the learned summarizer on NeuS train, and the ceiling of better word models.

  python scripts/cv_summarizer.py [--data ../shared/data/neus] [--truth-blend 0.02 0.05 ...] [--blend both|words|pairs]

Each half of ``train.jsonl`` (stories by index parity) trains the word, pair and headline-word
models exactly as ``scripts/train_summarizer.py`` does (lexicon folds inside the half; the shipped
off-topic and headline models), then summarizes the other half; the summaries are scored with
rouge-score as ``../shared/tools/score_summaries.py`` scores them (50 words, Porter stemming, F1).
This is the estimate every summarizer change since session 3 was judged by (steadier than val's
307 stories: 2,452 stories, and no selection on them).

``--truth-blend a`` answers "how much better must the word chances be to gain this much ROUGE":
the held-out half's predicted chances are mixed with the true answers, ``(1 - a) * p + a * y``
(``--blend`` picks words, pairs or both), and the script reports the resulting ROUGE next to the
within-story AUC of the word chances (k = 1 rows). Needs scikit-learn and rouge-score
(``pip install -e .[test]``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_summarizer as training  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from storyline.evaluate import read_records  # noqa: E402
from storyline.summarize.base import story_articles  # noqa: E402
from storyline.summarize.learned import LearnedSummarizer  # noqa: E402
from storyline.summarize.scoring import load_model  # noqa: E402
from storyline.summarize.words import WordTable, tokens  # noqa: E402

_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


class TruthBlend(LearnedSummarizer):
    """The learned summarizer with its word (and/or pair) chances mixed with the true answers of
    the story in ``reference`` — a measuring device for the ceiling, never a summarizer."""

    def __init__(self, model: dict[str, Any], share: float, blend: str) -> None:
        super().__init__(model)
        self.share, self.blend = share, blend
        self.reference: list[str] = []
        self.aucs: list[float] = []

    def chances(self, table: WordTable) -> tuple[np.ndarray, np.ndarray]:
        word_p, pair_p = super().chances(table)
        counts, ref_pairs = Counter(self.reference), set(zip(self.reference, self.reference[1:]))
        word_y = np.array([float(counts[w] >= k) for w, k in table.words])
        pair_y = np.array([float(p in ref_pairs) for p in table.pairs])
        a = self.share
        if self.blend in ("both", "words"):
            word_p = (1 - a) * word_p + a * word_y
        if self.blend in ("both", "pairs"):
            pair_p = (1 - a) * pair_p + a * pair_y
        first = table.word_k == 1
        if 0 < word_y[first].sum() < first.sum():
            self.aucs.append(roc_auc_score(word_y[first], word_p[first]))
        return word_p, pair_p


def fold_models(train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per half (stories with index parity f held out), the model trained on the other half."""
    shipped = load_model()
    models = []
    for fold in (0, 1):
        stories = [s for i, s in enumerate(train) if i % 2 != fold]
        model = dict(shipped)
        model.update(training.train_words(stories, training.training_tables(stories)))
        models.append(model)
    return models


def cross_validate(train: list[dict[str, Any]], models: list[dict[str, Any]], share: float | None,
                   blend: str) -> tuple[dict[str, float], float | None]:
    """Mean ROUGE F1 x 100 over both held-out halves, and the mean within-story word AUC when blending."""
    scores: dict[str, list[float]] = {k: [] for k in ("rouge1", "rouge2", "rougeL")}
    aucs: list[float] = []
    for fold, model in enumerate(models):
        summarizer = TruthBlend(model, share or 0.0, blend)  # a blend of 0 is the learned summarizer, exactly
        for story in train[fold::2]:
            summarizer.reference = tokens(story["reference_summary"])
            text = " ".join(summarizer(story_articles(story), 50).text.split()[:50])
            result = _SCORER.score(story["reference_summary"], text)
            for k in scores:
                scores[k].append(100 * result[k].fmeasure)
        aucs += summarizer.aucs
    return ({k: round(statistics.mean(v), 2) for k, v in scores.items()},
            round(float(np.mean(aucs)), 4) if share is not None and aucs else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "neus")
    ap.add_argument("--truth-blend", type=float, nargs="*", default=[], metavar="A",
                    help="also report ROUGE with the chances mixed this much with the true answers")
    ap.add_argument("--blend", choices=("both", "words", "pairs"), default="both")
    args = ap.parse_args()
    train = read_records(args.data / "train.jsonl")
    models = fold_models(train)
    print(f"{'setting':<24} {'R1':>6} {'R2':>6} {'RL':>6} {'word story AUC':>15}")
    for share in [None, *args.truth_blend]:
        scores, auc = cross_validate(train, models, share, args.blend)
        name = "learned.v2" if share is None else f"truth blend {share:g} ({args.blend})"
        auc_text = f"{auc:.4f}" if auc is not None else "-"
        print(f"{name:<24} {scores['rouge1']:>6.2f} {scores['rouge2']:>6.2f} {scores['rougeL']:>6.2f} {auc_text:>15}")


if __name__ == "__main__":
    main()
