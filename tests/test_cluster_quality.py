"""Quality gate for story clustering: dev-set B-cubed F1 must not drop more than 0.01 below the
figures pinned in ``tests/baselines/clustering.json``.

Each set runs the way ``storyline cluster`` does: articles in ``published`` order (file order where
absent) through :class:`storyline.pipeline.Pipeline` (``add_all``: dedup, then the default clusterer), then
``Pipeline.finish`` (end-of-input consolidation). After a
deliberate change that moves a figure, update the baseline file in the same commit and say why.
Also here, since it reads the training splits: the committed mean embedding rebuilds byte for byte.
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
GATED = ("ecb_dev", "neus_val", "wikiref220", "uci_stream", "mixed_dev", "neus_val_titles", "neus_val_lines")

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


def test_the_committed_mean_embedding_is_what_training_writes(tmp_path: Path) -> None:
    """``scripts/train_clusterer.py`` rebuilds ``dense-centre.v1.json`` byte for byte from the
    training splits (the other three artifacts take minutes; their hashes are in
    docs/clustering.md, "Training")."""
    import importlib.util

    from storyline.cluster.corpora import neus_story_records, read_records
    from storyline.cluster.join import CENTRE_FILE
    from storyline.text.embed import WordLlamaEmbedder

    spec = importlib.util.spec_from_file_location("train_clusterer", Path(__file__).parents[1] / "scripts" / "train_clusterer.py")
    train_clusterer = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(train_clusterer)  # type: ignore[union-attr]
    records = read_records(DATA / "ecbplus" / "train.jsonl") + neus_story_records(DATA / "neus" / "train.jsonl")
    out = tmp_path / CENTRE_FILE.name
    train_clusterer.write_centre(records, WordLlamaEmbedder(), out)
    assert out.read_bytes() == CENTRE_FILE.read_bytes()
