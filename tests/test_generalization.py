"""The yardstick's held-out sets (``benchmarks/generalization.py``): folds and their parts.

docs/clustering.md compares 10-fold figures with 5-fold figures split in two parts, as the
same held-out sets with more training topics; these tests hold that claim.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("generalization", ROOT / "benchmarks" / "generalization.py")
G = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(G)  # type: ignore[union-attr]


def write_topics(folder: Path, train: list[int], dev: list[int]) -> None:
    """ECB+-shaped files: three articles per topic, ids ``<topic>_<n>``, topics not in order."""
    (folder / "ecbplus").mkdir(parents=True)
    for name, topics in (("train", train), ("dev", dev)):
        rows = [{"id": f"{t}_{n}", "topic": str(t), "label": f"{t}_ecb", "title": f"Story {t}", "text": "Text."}
                for t in topics for n in range(3)]
        (folder / "ecbplus" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def topics(records: list[dict]) -> set[str]:
    return {G.topic_of(r) for r in records}


def test_parts_split_a_fold_by_topic_and_cover_it(tmp_path: Path) -> None:
    write_topics(tmp_path, train=[3, 1, 12, 7, 20, 5, 9], dev=[18, 2, 15, 30])
    for fold in G.ecb_folds(tmp_path, 3):
        parts = G.parts_of(fold, 2)
        assert sorted(r["id"] for p in parts for r in p) == sorted(r["id"] for r in fold)
        assert not topics(parts[0]) & topics(parts[1])
        assert len(topics(parts[0])) - len(topics(parts[1])) in (0, 1)  # alternate, in topic order


def test_ten_folds_are_the_parts_of_five(tmp_path: Path) -> None:
    """Fold g of 10 holds exactly part g // 5 of fold g mod 5 (topic i: fold i mod 10, part (i // 5) mod 2)."""
    write_topics(tmp_path, train=list(range(1, 26)), dev=list(range(26, 34)))
    five, ten = G.ecb_folds(tmp_path, 5), G.ecb_folds(tmp_path, 10)
    for g in range(10):
        assert topics(ten[g]) == topics(G.parts_of(five[g % 5], 2)[g // 5])


def test_one_part_is_the_fold(tmp_path: Path) -> None:
    write_topics(tmp_path, train=[1, 2, 3, 4], dev=[5])
    fold = G.ecb_folds(tmp_path, 2)[0]
    assert G.parts_of(fold, 1) == [fold]


@pytest.mark.parametrize("k", [0, -1])
def test_the_script_refuses_fewer_than_one_part(k: int, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.argv", ["generalization.py", "--data", str(tmp_path), "--parts", str(k), "--cache", str(tmp_path)])
    with pytest.raises(SystemExit):
        G.main()
    assert "--parts must be at least 1" in capsys.readouterr().err
