"""Quality gate for story clustering: dev-set B-cubed F1 must not drop more than 0.01 below the
figures pinned in ``tests/baselines/clustering.json``.

Each set runs the way ``storyline cluster`` does: articles in ``published`` order (file order where
absent) through :class:`storyline.pipeline.Pipeline` (``add_all``: dedup, then the default clusterer), then
``Pipeline.finish`` (end-of-input consolidation). After a
deliberate change that moves a figure, update the baseline file in the same commit and say why.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyline.cluster.corpora import bcubed_f1, dev_sets, to_labelled
from storyline.config import Settings
from storyline.pipeline import Pipeline, arrival_order

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BASELINE = Path(__file__).parent / "baselines" / "clustering.json"
TOLERANCE = 0.01
GATED = ("ecb_dev", "neus_val", "wikiref220", "uci_stream", "mixed_dev")

pytestmark = [
    pytest.mark.data,
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "ecbplus").is_dir(), reason=f"evaluation data not found at {DATA} (../shared/data)"),
]


def cluster_f1(name: str) -> float:
    """B-cubed F1 of the default pipeline on one development set."""
    articles, gold = to_labelled(dev_sets(DATA)[name]())
    pipe = Pipeline(Settings())
    pipe.add_all(arrival_order(articles))
    pipe.finish()
    return bcubed_f1(gold, [pipe.story_id(a.id) for a in articles])[2]


@pytest.mark.parametrize("name", GATED)
def test_dev_set_does_not_regress(name: str) -> None:
    pinned = json.loads(BASELINE.read_text(encoding="utf-8"))["bcubed_f1"][name]
    got = cluster_f1(name)
    assert got >= pinned - TOLERANCE, f"{name}: B3-F1 {got:.4f} fell below the pinned {pinned:.4f} - {TOLERANCE}"
