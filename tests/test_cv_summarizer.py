"""The cross-validation script's ceiling device (scripts/cv_summarizer.py): mixing nothing of the
truth in changes nothing, mixing all of it in summarizes far better — so its figures measure what
they say."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VAL = REPO.parent / "shared" / "data" / "neus" / "val.jsonl"

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def cv():
    if not VAL.exists():
        pytest.skip(f"evaluation data not found at {VAL} (the shared NeuS data is not part of the repository)")
    pytest.importorskip("rouge_score", reason="rouge-score is a test extra (pip install -e .[test])")
    pytest.importorskip("sklearn", reason="scikit-learn is a test extra (pip install -e .[test])")
    sys.path.insert(0, str(REPO / "scripts"))
    import cv_summarizer

    return cv_summarizer


def _stories(n: int) -> list[dict]:
    with VAL.open(encoding="utf-8") as f:
        return [json.loads(line) for line, _ in zip(f, range(n))]


def _summaries(summarizer, stories, reference: bool) -> list[str]:
    from storyline.summarize.base import story_articles
    from storyline.summarize.words import tokens

    out = []
    for story in stories:
        if reference:
            summarizer.reference = tokens(story["reference_summary"])
        out.append(summarizer(story_articles(story), 50).text)
    return out


def test_no_truth_mixed_in_changes_nothing(cv):
    from storyline.summarize.learned import LearnedSummarizer
    from storyline.summarize.scoring import load_model

    stories, model = _stories(40), load_model()
    assert _summaries(cv.TruthBlend(model, 0.0, "both"), stories, True) == _summaries(LearnedSummarizer(model), stories, False)


def test_the_truth_mixed_in_lifts_rouge(cv):
    from storyline.summarize.learned import LearnedSummarizer
    from storyline.summarize.scoring import load_model

    stories, model = _stories(40), load_model()

    def rouge1(texts: list[str]) -> float:
        return sum(cv._SCORER.score(s["reference_summary"], t)["rouge1"].fmeasure for s, t in zip(stories, texts)) / len(texts)

    blended = cv.TruthBlend(model, 0.5, "both")
    plain = rouge1(_summaries(LearnedSummarizer(model), stories, False))
    assert rouge1(_summaries(blended, stories, True)) > plain + 0.05
    assert len(blended.aucs) > 30 and sum(blended.aucs) / len(blended.aucs) > 0.9
