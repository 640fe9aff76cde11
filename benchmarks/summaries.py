#!/usr/bin/env python3
"""Summaries and headlines, side by side: lead, sumy LexRank/TextRank, centroid and ours.

  python benchmarks/summaries.py [--data ../shared/data/neus] [--max-words 50] [--limit N]

For each summarizer and each of ``val.jsonl`` / ``val_noisy.jsonl``: summary ROUGE-1/2/L F1 and
headline ROUGE-1 (the shared scorer's logic: rouge-score, Porter stemming, F1 x100, summaries cut
at the budget), the share of summary sentences citing an off-topic item (val_noisy), and stories
summarized per second in this process (summarizer construction and model loading are timed
separately). sumy's summarizers get a regex tokenizer (its default needs NLTK data) and the
same headline choice as lead and centroid (the most central input title). Needs rouge-score and
sumy (``pip install -e .[test]``). Prints one table.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rouge_score import rouge_scorer  # noqa: E402

from storyline.evaluate import read_records  # noqa: E402
from storyline.models import Article, Summary, SummarySentence  # noqa: E402
from storyline.summarize.base import story_articles  # noqa: E402
from storyline.summarize import (  # noqa: E402
    CentralTitleHeadliner, CentroidSummarizer, LeadSummarizer, LearnedSummarizer,
)
from storyline.summarize.scoring import load_model  # noqa: E402
from storyline.text import split_sentences  # noqa: E402

_WORD = re.compile(r"\w+(?:['’.-]\w+)*")


class RegexTokenizer:
    """What sumy asks of a tokenizer, without NLTK data: sentences and words."""

    language = "english"

    def to_sentences(self, paragraph: str) -> list[str]:
        return split_sentences(paragraph)

    def to_words(self, sentence: str) -> list[str]:
        return _WORD.findall(sentence)


class SumySummarizer:
    """A sumy summarizer behind storyline's interface: ranks every sentence of the story,
    takes them best first while they fit the budget, keeps the story's reading order."""

    def __init__(self, name: str, summarizer: Any) -> None:
        from sumy.nlp.stemmers import Stemmer
        from sumy.utils import get_stop_words

        self.name = name
        self.summarizer = summarizer(Stemmer("english"))
        self.summarizer.stop_words = get_stop_words("english")
        self.headliner = CentralTitleHeadliner()
        self.tokenizer = RegexTokenizer()

    def __call__(self, articles: Sequence[Article], max_words: int = 50) -> Summary:
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

        sents = [Sentence(text, self.tokenizer) for art in articles for text in split_sentences(art.text)]
        origin = {id(s): i for s, i in zip(sents, (i for i, art in enumerate(articles) for _ in split_sentences(art.text)))}
        headline, source = self.headliner(articles)
        if not sents:
            return Summary(headline, [], self.name, source)
        self.summarizer(ObjectDocumentModel([Paragraph(sents)]), len(sents))
        rating = self.summarizer._last_rating
        order = sorted(range(len(sents)), key=lambda k: (-rating.get(sents[k], 0.0), k))
        chosen, used = [], 0
        for k in order:
            words = len(sents[k]._text.split())
            if used + words <= max_words:
                chosen.append(k)
                used += words
        out = [SummarySentence(sents[k]._text, origin[id(sents[k])]) for k in sorted(chosen)]
        return Summary(headline, out, self.name, source)


def sumy_ranker(cls: Any) -> Any:
    """A sumy summarizer class that remembers its sentence ratings (sumy returns only the top
    ``count`` in document order, without scores)."""

    class Ranked(cls):  # type: ignore[misc, valid-type]
        def _get_best_sentences(self, sentences, count, rating, *args, **kwargs):  # type: ignore[no-untyped-def]
            if callable(rating):
                rating = {s: rating(s, *args, **kwargs) for s in sentences}
            self._last_rating = dict(rating)
            return super()._get_best_sentences(sentences, count, rating)

    return Ranked



def score(stories: list[dict[str, Any]], preds: list[Summary], max_words: int) -> dict[str, float]:
    """The shared scorer's figures (tools/score_summaries.py), computed in-process."""
    sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rows: dict[str, list[float]] = {"r1": [], "r2": [], "rl": [], "h1": []}
    cited = off = 0
    for story, pred in zip(stories, preds):
        s = sc.score(story["reference_summary"], " ".join(pred.text.split()[:max_words]))
        rows["r1"].append(100 * s["rouge1"].fmeasure)
        rows["r2"].append(100 * s["rouge2"].fmeasure)
        rows["rl"].append(100 * s["rougeL"].fmeasure)
        rows["h1"].append(100 * sc.score(story["reference_title"], pred.headline)["rouge1"].fmeasure)
        for sent in pred.sentences:
            cited += 1
            off += not story["articles"][sent.article].get("on_topic", True)
    out = {k: statistics.mean(v) for k, v in rows.items()}
    out["offtopic"] = 100 * off / cited if cited else 0.0
    return out


def run(make: Callable[[], Any], stories: list[dict[str, Any]], max_words: int) -> tuple[list[Summary], float, float]:
    load_model.cache_clear()
    t0 = time.perf_counter()
    summarizer = make()
    load_s = time.perf_counter() - t0
    inputs = [story_articles(s) for s in stories]
    t0 = time.perf_counter()
    preds = [summarizer(arts, max_words) for arts in inputs]
    return preds, len(stories) / (time.perf_counter() - t0), load_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "neus")
    ap.add_argument("--max-words", type=int, default=50)
    ap.add_argument("--limit", type=int, default=0, help="only the first N stories of each file")
    args = ap.parse_args()
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    systems: list[tuple[str, Callable[[], Any]]] = [
        ("lead", LeadSummarizer),
        ("sumy LexRank", lambda: SumySummarizer("sumy-lexrank", sumy_ranker(LexRankSummarizer))),
        ("sumy TextRank", lambda: SumySummarizer("sumy-textrank", sumy_ranker(TextRankSummarizer))),
        ("centroid", CentroidSummarizer),
        ("ours", LearnedSummarizer),
    ]
    files = {name: read_records(args.data / f"{name}.jsonl") for name in ("val", "val_noisy")}
    if args.limit:
        files = {k: v[: args.limit] for k, v in files.items()}
    header = (f"{'summarizer':<16}{'name':<16}{'val R1/R2/RL':>20}{'head R1':>9}{'noisy R1/R2/RL':>20}"
              f"{'head R1':>9}{'off-topic %':>12}{'stories/s':>11}{'noisy/s':>9}{'load ms':>9}")
    lines = [header, "-" * len(header)]
    for label, make in systems:
        results, speeds, loads, name = {}, [], [], ""
        for fname, stories in files.items():
            preds, per_s, load_s = run(make, stories, args.max_words)
            name = preds[0].summarizer if preds else label
            results[fname] = score(stories, preds, args.max_words)
            speeds.append(per_s)
            loads.append(load_s)
        v, n = results["val"], results["val_noisy"]
        lines.append(
            f"{label:<16}{name:<16}{v['r1']:>8.2f}/{v['r2']:>5.2f}/{v['rl']:>5.2f}{v['h1']:>9.2f}"
            f"{n['r1']:>8.2f}/{n['r2']:>5.2f}/{n['rl']:>5.2f}{n['h1']:>9.2f}{n['offtopic']:>12.2f}"
            f"{speeds[0]:>11.0f}{speeds[1]:>9.0f}{1000 * max(loads):>9.1f}"
        )
    print(f"NeuS {args.data}: val {len(files['val'])} stories, val_noisy {len(files['val_noisy'])}; "
          f"budget {args.max_words} words; stories/s = three-article val stories summarized per second "
          f"(summarizer calls only), noisy/s = the same on val_noisy (five items each), "
          f"load ms = construction + model load")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
