"""Labelled evaluation streams for clustering, read from the shared data folder.

Used by ``scripts/train_clusterer.py``, ``benchmarks/clustering.py`` and the quality gate. The
data itself is never part of the package; these helpers only know its layout (see the data
README). Gold labels are returned separately from the articles, which never carry them.
"""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

from ..evaluate import read_records
from ..ingest.dates import parse_date
from ..models import Article
from ..text import split_sentences

Labelled = tuple[list[Article], list[str]]


def neus_story_records(path: Path) -> list[dict[str, Any]]:
    """NeuS story clusters (``{"id", "articles": [...]}``) flattened to labelled article records."""
    out = []
    for story in read_records(path):
        for j, a in enumerate(story["articles"]):
            out.append({"id": f"{story['id']}-a{j}", "title": a.get("title", ""), "text": a.get("text", ""), "label": story["id"]})
    return out


def to_labelled(records: Sequence[dict[str, Any]], *, keep_time: bool = True) -> Labelled:
    arts = [
        Article(
            id=str(r["id"]), title=r.get("title") or "", text=r.get("text") or "", url=r.get("url") or "",
            source=r.get("source") or "", published=parse_date(r.get("published")) if keep_time else None,
        )
        for r in records
    ]
    return arts, [str(r["label"]) for r in records]


def mixed_records(records: Sequence[dict[str, Any]], seed: int = 13) -> list[dict[str, Any]]:
    """The held-out mixed stream's analog: records shuffled with a fixed seed, timestamps dropped."""
    out = [{k: v for k, v in r.items() if k != "published"} for r in records]
    random.Random(seed).shuffle(out)
    return out


def dev_sets(data: Path) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    """Named record loaders for the development figures (the quality gate pins these)."""
    ecb_dev = lambda: read_records(data / "ecbplus" / "dev.jsonl")  # noqa: E731
    ecb_train = lambda: read_records(data / "ecbplus" / "train.jsonl")  # noqa: E731
    neus_val = lambda: read_records(data / "neus" / "val_articles.jsonl")  # noqa: E731
    return {
        "ecb_dev": ecb_dev,
        "neus_val": neus_val,
        "wikiref220": lambda: read_records(data / "wikiref" / "WikiRef220.jsonl"),
        "uci_stream": lambda: read_records(data / "uci-news-sample" / "stream.jsonl"),
        "mixed_dev": lambda: mixed_records(ecb_dev() + ecb_train() + neus_val()),
        "neus_val_titles": lambda: titles_only(neus_val()),
        "neus_val_lines": lambda: lone_lines(neus_val()),
    }


def titles_only(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` as undated headlines (a pasted list of headlines, a feed without dates or
    descriptions): text and dates dropped, titles kept, items without one left out."""
    return [{**r, "text": "", "published": None} for r in records if r.get("title")]


def lone_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` as a pasted list of lines (the specimen's kind, from many events): each article's
    first two sentences of 8-40 words as undated items of their own, and its title as an undated
    headline."""
    out = []
    for r in records:
        lines = [s for s in split_sentences(r.get("text") or "") if 8 <= len(s.split()) <= 40][:2]
        out += [{"id": f"{r['id']}-{j}", "title": "", "text": s, "label": r["label"]} for j, s in enumerate(lines)]
        if r.get("title"):
            out.append({"id": f"{r['id']}-t", "title": r["title"], "text": "", "label": r["label"]})
    return out


def training_streams(data: Path) -> dict[str, list[dict[str, Any]]]:
    """Training splits only: ECB+ train and NeuS train (the join model learns from these)."""
    ecb = read_records(data / "ecbplus" / "train.jsonl")
    neus = neus_story_records(data / "neus" / "train.jsonl")
    return {"ecb_train": ecb, "neus_train": neus, "mixed_train": mixed_records(ecb + neus, seed=7)}


def bcubed_f1(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1, as ``../shared/tools/score_clusters.py`` computes them."""
    both: Counter[tuple[str, str]] = Counter(zip(gold, pred))
    g_size, p_size = Counter(gold), Counter(pred)
    prec = sum(c * c / p_size[p] for (g, p), c in both.items())
    rec = sum(c * c / g_size[g] for (g, p), c in both.items())
    n = max(1, len(gold))
    prec, rec = prec / n, rec / n
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


__all__ = ["read_records", "neus_story_records", "to_labelled", "mixed_records", "titles_only", "lone_lines", "dev_sets", "training_streams", "bcubed_f1"]
