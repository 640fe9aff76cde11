"""Quality gate: the default summarizer on NeuS val / val_noisy, scored by the shared scorer.

Figures are pinned in tests/baselines/summaries.json; the gate fails when summary or headline
ROUGE-1 drops by more than ``tolerance`` (0.5) points, when a summary exceeds its budget, or when
more than 0.5 % of summary sentences cite an off-topic item. After an intended improvement,
re-pin with ``python tests/test_summary_quality.py --update``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SCORER = REPO.parent / "shared" / "tools" / "score_summaries.py"
BASELINE = Path(__file__).resolve().parent / "baselines" / "summaries.json"
FILES = ("val", "val_noisy")
MAX_WORDS = 50

pytestmark = [pytest.mark.data, pytest.mark.slow]


def summarize_file(gold: Path, pred: Path) -> None:
    from storyline.summarize import default_summarizer
    from storyline.summarize.base import story_articles

    summarizer = default_summarizer()
    with gold.open(encoding="utf-8") as f, pred.open("w", encoding="utf-8") as out:
        for line in f:
            if not line.strip():
                continue
            story = json.loads(line)
            s = summarizer(story_articles(story), MAX_WORDS)
            out.write(json.dumps({"id": story["id"], "headline": s.headline, "summary": s.text,
                                  "sentences": [{"text": x.text, "article": x.article} for x in s.sentences]}) + "\n")


def score(name: str, workdir: Path) -> dict[str, Any]:
    gold, pred = DATA / "neus" / f"{name}.jsonl", workdir / f"{name}.pred.jsonl"
    summarize_file(gold, pred)
    done = subprocess.run([sys.executable, str(SCORER), "--gold", str(gold), "--pred", str(pred),
                           "--max-words", str(MAX_WORDS)], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    with pred.open(encoding="utf-8") as f:
        sources = [len({x["article"] for x in json.loads(line)["sentences"]}) for line in f if line.strip()]
    result["several_sources_share"] = round(sum(n >= 2 for n in sources) / max(1, len(sources)), 4)
    return result


def skip_reason() -> str:
    if not (DATA / "neus" / "val.jsonl").exists():
        return f"evaluation data not found at {DATA} (the shared NeuS data is not part of the repository)"
    if not SCORER.exists():
        return f"shared scorer not found at {SCORER}"
    try:
        import rouge_score  # noqa: F401
    except ImportError:
        return "rouge-score is not installed (pip install -e .[test])"
    return ""


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    if skip_reason():
        pytest.skip(skip_reason())
    workdir = tmp_path_factory.mktemp("summaries")
    return {name: score(name, workdir) for name in FILES}


@pytest.mark.parametrize("name", FILES)
def test_rouge_not_below_pinned(scores: dict[str, dict[str, Any]], name: str) -> None:
    pinned = json.loads(BASELINE.read_text(encoding="utf-8"))
    tol = pinned["tolerance"]
    got, want = scores[name], pinned[name]
    assert got["missing"] == 0 and got["over_budget"] == 0
    assert got["summary"]["rouge1"] >= want["summary"]["rouge1"] - tol, (
        f"{name}: summary ROUGE-1 {got['summary']['rouge1']} fell more than {tol} below the pinned {want['summary']['rouge1']}")
    assert got["headline"]["rouge1"] >= want["headline"]["rouge1"] - tol, (
        f"{name}: headline ROUGE-1 {got['headline']['rouge1']} fell more than {tol} below the pinned {want['headline']['rouge1']}")


@pytest.mark.parametrize("name", FILES)
def test_summaries_quote_several_reports(scores: dict[str, dict[str, Any]], name: str) -> None:
    # The product promises summaries drawn from several outlets; the summarizer prefers a subset
    # quoting two or more reports when it scores nearly as well (without it: 0.36 on val).
    pinned = json.loads(BASELINE.read_text(encoding="utf-8"))[name]["several_sources_share"]
    assert scores[name]["several_sources_share"] >= pinned - 0.03


def test_noise_robustness(scores: dict[str, dict[str, Any]]) -> None:
    noisy, clean = scores["val_noisy"], scores["val"]
    assert noisy.get("offtopic_sentence_share", 0.0) <= 0.005
    assert noisy["summary"]["rouge1"] >= clean["summary"]["rouge1"] - 0.5


if __name__ == "__main__":  # re-pin: python tests/test_summary_quality.py --update
    import tempfile

    sys.path.insert(0, str(REPO))
    if skip_reason():
        sys.exit(skip_reason())
    with tempfile.TemporaryDirectory() as tmp:
        result = {name: score(name, Path(tmp)) for name in FILES}
    print(json.dumps(result, indent=1))
    if "--update" in sys.argv:
        result = {"tolerance": 0.5, "command": "python tests/test_summary_quality.py --update", **result}
        BASELINE.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
