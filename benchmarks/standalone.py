"""Share of summary sentences with a dangling antecedent, and ROUGE, on NeuS val.

    python benchmarks/standalone.py [--gold /work/shared/data/neus/val.jsonl]

Summarizes every story twice with the learned summarizer, with and without the standalone rule
(a sentence that leans on an antecedent comes with its article's previous sentence or not at all),
and prints a table: sentences, sentences needing an antecedent, dangling ones (needing one without
their article's previous sentence right before them; `storyline.summarize.standalone.dangling`),
their share, and summary ROUGE-1/2 (the shared scorer's implementation).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from storyline.summarize import LearnedSummarizer
from storyline.summarize.base import story_articles
from storyline.summarize.standalone import dangling, needs_antecedent

ROOT = Path(__file__).parents[1]


def _rouge(preds: list[str], refs: list[str]) -> str:
    """Mean ROUGE-1 / ROUGE-2 F1 x100 as the shared scorer computes them (rouge-score, Porter stemming)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        return "n/a | n/a"
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    scores = [scorer.score(r, " ".join(p.split()[:50])) for p, r in zip(preds, refs)]
    r1 = sum(s["rouge1"].fmeasure for s in scores) / len(scores)
    r2 = sum(s["rouge2"].fmeasure for s in scores) / len(scores)
    return f"{100 * r1:.2f} | {100 * r2:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default="/work/shared/data/neus/val.jsonl")
    args = parser.parse_args()
    gold = [json.loads(line) for line in open(args.gold, encoding="utf-8")]
    print("| standalone rule | sentences | need antecedent | dangling | share | R1 | R2 |")
    print("|---|---|---|---|---|---|---|")
    for rule in (False, True):
        summarizer = LearnedSummarizer(standalone=rule)
        total = need = bad = 0
        preds = []
        for story in gold:
            arts = story_articles(story)
            summary = summarizer(arts)
            pairs = [(s.text, s.article) for s in summary.sentences]
            flags = dangling(pairs, arts)
            total, need, bad = total + len(pairs), need + sum(needs_antecedent(t) for t, _ in pairs), bad + sum(flags)
            preds.append({"id": story["id"], "headline": summary.headline, "summary": summary.text})
        rouge = _rouge([p["summary"] for p in preds], [g["reference_summary"] for g in gold])
        print(f"| {'on' if rule else 'off'} | {total} | {need} | {bad} | {100 * bad / max(total, 1):.2f} % | "
              f"{rouge} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
