#!/usr/bin/env python3
"""Where the yardstick's B3 loss comes from: merged events (precision) and fragments (recall).

  python benchmarks/cluster_diagnosis.py --models DIR [--data ../shared/data] [--shuffles 5]
                                         [--sets ecb_cv neus_val] [--jobs 2] [--set name=value]

Runs the same held-out sets in the same orders as ``benchmarks/generalization.py`` (with the
fold models under ``--models``, e.g. a yardstick run's folder) through ``Pipeline`` with a
clusterer that records every online decision (candidates and their join probabilities), then
splits each order's B3 loss exactly:

* precision: ``n (1 - P) = sum over predicted clusters C of sum over event pairs g != h in C of
  |C n g| |C n h| / |C|``. Each pair's loss is charged to the path by which the later-arriving
  event's block entered C: an *online join* (its first article joined a story holding none of its
  event: the join probability is recorded), a *consolidation merge* (its block had a story of its
  own that consolidation linked to C) or *dedup*.
* recall: ``n (1 - R) = sum over events g of sum over its pieces i != j (one per predicted cluster)
  of |g n C_i| |g n C_j| / |g|``. Each pair of pieces is charged to why the smaller piece is not
  with the larger: *inside another event's story* (its cluster is mostly another event), or, for a
  piece that is its own story, what the end state says about the pair: the larger piece's story not
  among the smaller's candidates (*not retrieved*), retrieved but another story is more probable
  (*best elsewhere*), best but not mutually (*not mutual*), mutual but under the floors or the
  merge bar (*merge said no*: the merge model's probability is recorded). The online view is
  recorded too: when the piece's first article arrived, the best join probability to a story then
  holding its event (or none among the candidates).

Prints the loss tables (in B3 points, summed over orders and divided by their number) and the
largest items; ``--json`` writes every item.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyline.cluster.corpora import read_records, to_labelled  # noqa: E402
from storyline.cluster.join import FEATURES  # noqa: E402

CUES = ("weekday_match", "year_match", "month_match", "figure_match")

_spec = importlib.util.spec_from_file_location("generalization", ROOT / "benchmarks" / "generalization.py")
G = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(G)  # type: ignore[union-attr]


def tracing_clusterer(**kwargs: Any):
    from storyline.cluster import StoryClusterer

    class Tracing(StoryClusterer):
        """Records every online decision: (article, story, joined, candidates, probabilities)."""

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.trace_: list[tuple[str, str, bool, list[str], list[float], list[float] | None]] = []
            self._last: tuple[list[str], np.ndarray] = ([], np.zeros(0))

        def score(self, vec):  # type: ignore[no-untyped-def]
            cands, x, probs = super().score(vec)
            self._last = (cands, probs)
            return cands, x, probs

        def decide(self, article_id, vec):  # type: ignore[no-untyped-def]
            story, cands, x = super().decide(article_id, vec)
            c, p = self._last
            row = [float(v) for v in x[cands.index(story)]] if story in cands else None
            self.trace_.append((article_id, story, story in self.stories_, list(c), [float(v) for v in p], row))
            return story, cands, x

    return Tracing(**kwargs)


def _state_of(article: str, pipe, cl) -> str | None:
    """The open story state holding ``article`` (following splits and folds)."""
    from storyline.cluster.base import resolve

    canon = pipe.canonical_.get(article, article)
    s = cl.moved_.get(canon, pipe.story_of_.get(canon))
    seen = set()
    while s is not None and s not in cl.stories_ and s in cl.merges_ and s not in seen:
        seen.add(s)
        s = cl.merges_[s]
    return s if s in cl.stories_ else (resolve(s, cl.merges_) if s else None)


def analyse(records: list[dict], pipe, cl) -> dict[str, Any]:
    ids = [str(r["id"]) for r in records]
    gold = {str(r["id"]): str(r["label"]) for r in records}
    topic = {str(r["id"]): G.topic_of(r) for r in records}
    pred = {a: pipe.story_id(a) for a in ids}
    n = len(ids)
    order = {a: i for i, a in enumerate(ids)}
    # online: each decision with the gold make-up of every candidate story at that moment
    comp: dict[str, Counter] = defaultdict(Counter)
    online: dict[str, dict[str, Any]] = {}
    joins = []  # every online join: (right: the story held its event, cue conflicts of the row)
    for art, story, joined, cands, probs, row in cl.trace_:
        g = gold[art]
        own = [p for c, p in zip(cands, probs) if comp[c][g] > 0]
        online[art] = {"story": story, "joined": joined, "p": max(probs) if probs else 0.0,
                       "seed": joined and comp[story][g] == 0, "own_p": max(own) if own else None,
                       "own_retrieved": bool(own), "own_exists": any(comp[s][g] for s in comp)}
        if joined and row is not None:
            conflicts = [name for name in CUES if row[FEATURES.index(name)] < 0]
            joins.append((comp[story][g] > 0, conflicts, max(probs)))
            online[art]["conflicts"] = conflicts
        comp[story][g] += 1
    clusters: dict[str, list[str]] = defaultdict(list)
    for a in ids:
        clusters[pred[a]].append(a)
    events: dict[str, list[str]] = defaultdict(list)
    for a in ids:
        events[gold[a]].append(a)

    # -- precision ---------------------------------------------------------------------------------
    prec_items = []
    for c, members in clusters.items():
        by_event: dict[str, list[str]] = defaultdict(list)
        for a in members:
            by_event[gold[a]].append(a)
        if len(by_event) < 2:
            continue
        blocks = sorted(by_event.items(), key=lambda kv: min(order[a] for a in kv[1]))  # by first arrival
        for i, (g1, b1) in enumerate(blocks):
            for g2, b2 in blocks[i + 1:]:
                loss = 2.0 * len(b1) * len(b2) / len(members) / n
                first = min(b2, key=lambda a: order[a])
                path, p = entry_path(first, min(b1, key=lambda a: order[a]), pipe, cl, online)
                prec_items.append({"cluster": c, "events": [g1, g2], "sizes": [len(b1), len(b2)], "size": len(members),
                                   "topic": topic[first], "loss": loss, "path": path, "p": p,
                                   "conflicts": online.get(first, {}).get("conflicts")})
    # -- recall -------------------------------------------------------------------------------------
    rec_items = []
    for g, arts in events.items():
        pieces: dict[str, list[str]] = defaultdict(list)
        for a in arts:
            pieces[pred[a]].append(a)
        if len(pieces) < 2:
            continue
        ranked = sorted(pieces.items(), key=lambda kv: (-len(kv[1]), min(order[a] for a in kv[1])))
        for i, (c1, big) in enumerate(ranked):
            for c2, small in ranked[i + 1:]:
                loss = 2.0 * len(big) * len(small) / len(arts) / n
                why, info = fragment_reason(small, c2, big, c1, clusters, gold, g, pipe, cl, online, order)
                rec_items.append({"event": g, "topic": topic[arts[0]], "sizes": [len(big), len(small)], "event_size": len(arts),
                                  "loss": loss, "why": why, **info})
    return {"n": n, "precision": prec_items, "recall": rec_items, "joins": joins, "one_sided": one_sided(cl, pipe, gold, ids)}


def one_sided(cl, pipe, gold: dict[str, str], ids: list[str]) -> list[dict]:
    """Every end-state story whose best partner (another final story) does not have it as its
    best partner back: both directions' probabilities, the merge model's view of the pair, and
    whether the two are mostly one event (what a rule merging such pairs would gain or cost)."""
    from storyline.cluster.base import resolve

    members: dict[str, Counter] = defaultdict(Counter)
    for a in ids:
        s = _state_of(a, pipe, cl)
        if s is not None:
            members[s][gold[a]] += 1
    best = {s: cl._best_partner(s) for s in cl.stories_ if members.get(s)}
    out = []
    for s, (p, other, dense, _) in best.items():
        if other is None or resolve(s, cl.merges_) == resolve(other, cl.merges_) or not members.get(other):
            continue
        back = best.get(other) or cl._best_partner(other)
        if back[1] == s:
            continue
        q = cl.score(cl._story_vector(cl.stories_[other]))
        p_back = max((float(v) for c, v in zip(q[0], q[2]) if c == s), default=0.0)
        ms, mo = members[s], members[other]
        gs, go = ms.most_common(1)[0][0], mo.most_common(1)[0][0]
        out.append({"p": p, "p_back": p_back, "dense": dense, "size": sum(ms.values()), "other_size": sum(mo.values()),
                    "merge_p": cl._same_story(cl.stories_[s], cl.stories_[other]) if cl.merge_model is not None else None,
                    "same": gs == go, "other_best_same": bool(back[1]) and back[1] in members and
                    members[back[1]].most_common(1)[0][0] == go,
                    "gain": 2 * ms[go] * mo[go], "cost": 2 * sum(ms.values()) * sum(mo.values()) - 2 * sum(ms[g] * mo[g] for g in ms)})
    return out


def entry_path(first: str, earlier: str, pipe, cl, online) -> tuple[str, float | None]:
    """How the block whose first article is ``first`` came into the cluster that ``earlier``'s
    event was in first."""
    if pipe.canonical_.get(first, first) != first:
        return "dedup", None
    o = online.get(first)
    if o is None:
        return "?", None
    if o["joined"] and o["seed"]:
        return "online join", o["p"]
    if first in cl.moved_:
        return "split move", None
    if pipe.story_of_.get(first) == pipe.story_of_.get(pipe.canonical_.get(earlier, earlier)):
        return "online join (reverse)", None
    return "consolidation merge", None


def fragment_reason(small, c_small, big, c_big, clusters, gold, g, pipe, cl, online, order) -> tuple[str, dict]:
    first = min(small, key=lambda a: order[a])
    o = online.get(pipe.canonical_.get(first, first), {})
    info = {"online_own_p": o.get("own_p"), "online_own_retrieved": o.get("own_retrieved"),
            "online_own_existed": o.get("own_exists")}
    majority = Counter(gold[a] for a in clusters[c_small]).most_common(1)[0]
    if majority[0] != g and majority[1] > len(small):
        return "inside another event's story", info
    sa = {_state_of(a, pipe, cl) for a in small} - {None}
    sb = {_state_of(a, pipe, cl) for a in big} - {None}
    sa = {s for s in sa if s in cl.stories_}
    sb = {s for s in sb if s in cl.stories_}
    if not sa or not sb:
        return "no open state", info
    # the end state: the small piece's biggest state scored against everything, as consolidation does
    a = max(sa, key=lambda s: cl.stories_[s].size)
    cands, x, probs = cl.score(cl._story_vector(cl.stories_[a]))
    found = [(float(p), c, float(r[1])) for c, p, r in zip(cands, probs, x) if c != a]
    to_big = [t for t in found if t[1] in sb]
    info["end_p"] = max((t[0] for t in to_big), default=None)
    info["end_best_p"] = max((t[0] for t in found), default=None)
    if not to_big:
        return "not retrieved", info
    best = max(found, key=lambda t: (t[0], t[1]))
    p, b, dense = max(to_big, key=lambda t: (t[0], t[1]))
    info["dense"] = dense
    sb_state = cl.stories_[b]
    info["merge_p"] = cl._same_story(cl.stories_[a], sb_state) if cl.merge_model is not None else None
    if best[1] not in sb:
        # the best is another story of another event, or another piece of this one
        return "best elsewhere", info
    cands2, x2, probs2 = cl.score(cl._story_vector(sb_state))
    found2 = [(float(q), c) for c, q in zip(cands2, probs2) if c != b]
    back = max(found2, default=(0.0, None))
    info["p_back"] = max((q for q, c in found2 if c == a), default=None)
    if back[1] != a:
        return "not mutual", info
    if p < cl.merge_min_p or dense < cl.mutual_min_dense:
        return "mutual, under floors", info
    return "mutual, merge said no", info


def _job(args: tuple[str, str, list[list[dict]], dict]) -> tuple[str, list[dict]]:
    from storyline.cluster.stream import load_models
    from storyline.config import Settings
    from storyline.pipeline import Pipeline

    key, models, orders, options = args
    kwargs = {**load_models(Path(models)), **options}
    out = []
    for records in orders:
        arts, _ = to_labelled(records)
        cl = tracing_clusterer(workers=0, **kwargs)
        pipe = Pipeline(Settings(workers=0), clusterer=cl)
        pipe.add_all(arts)
        pipe.finish()
        with __import__("threadpoolctl").threadpool_limits(1, user_api="blas"):
            out.append(analyse(records, pipe, cl))
    return key, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=G.DATA)
    ap.add_argument("--models", type=Path, required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--shuffles", type=int, default=5)
    ap.add_argument("--sets", nargs="+", default=["ecb_cv", "neus_val"], choices=["ecb_cv", "neus_val"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", dest="options", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.options)}
    tasks = []
    if "ecb_cv" in args.sets:
        for f, fold in enumerate(G.ecb_folds(args.data, args.folds)):
            tasks.append((f"ecb_cv/{f}", str(args.models / f"fold{f}-of{args.folds}"),
                          [G.shuffled(fold, s) for s in range(args.shuffles)], options))
    if "neus_val" in args.sets:
        val = read_records(args.data / "neus" / "val_articles.jsonl")
        tasks.append(("neus_val", str(args.models / "shipped"), [G.shuffled(val, s) for s in range(args.shuffles)], options))
    tasks.sort(key=lambda t: -sum(len(o) for o in t[2]))
    results: dict[str, list[dict]] = {}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("fork")) as pool:
        for key, out in pool.map(_job, tasks):
            results[key] = out
    report: dict[str, Any] = {}
    for name in args.sets:
        keys = sorted(k for k in results if k == name or k.startswith(name + "/"))
        n_total = sum(results[k][0]["n"] for k in keys)
        prec, rec, joins, sided = [], [], [], []
        for k in keys:
            for s, res in enumerate(results[k]):
                joins += res["joins"]
                sided += res["one_sided"]
                w = res["n"] / n_total / args.shuffles  # pooled over the set's parts, averaged over orders
                for it in res["precision"]:
                    prec.append({**it, "loss": it["loss"] * w, "part": k, "order": s})
                for it in res["recall"]:
                    rec.append({**it, "loss": it["loss"] * w, "part": k, "order": s})
        report[name] = {"precision": prec, "recall": rec}
        print_report(name, prec, rec, args.top)
        print_joins(joins, args.shuffles)
        print_one_sided(sided, args.shuffles)
        report[name]["one_sided"] = sided
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def _bucket(p: float | None, cuts=(0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9)) -> str:
    if p is None:
        return "-"
    lo = 0.0
    for c in cuts:
        if p < c:
            return f"{lo:.1f}-{c:.1f}"
        lo = c
    return f">={lo:.1f}"


def print_one_sided(items: list[dict], orders: int) -> None:
    """One-sided best pairs at the end, by the merge model's probability and the smaller side's
    size: how many are one event, and the B3 pair counts a merge would gain (same-event pairs
    joined) and cost (other-event pairs joined)."""
    print("one-sided best pairs at the end (per order): n same / n different, pair-count gain / cost, by merge p")
    for lo, hi in ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)):
        for small in (True, False):
            sel = [i for i in items if i["merge_p"] is not None and lo <= i["merge_p"] < hi and (i["size"] <= 2) == small]
            same = sum(i["same"] for i in sel) / orders
            diff = (len(sel) - sum(i["same"] for i in sel)) / orders
            gain = sum(i["gain"] for i in sel) / orders
            cost = sum(i["cost"] for i in sel) / orders
            print(f"  merge p {lo:.1f}-{hi:.1f} {'size<=2' if small else 'size>2 '}  same {same:6.1f}  diff {diff:6.1f}   gain {gain:8.1f}  cost {cost:8.1f}")


def print_joins(joins: list, orders: int) -> None:
    """Online joins into a story holding the article's event (right) or not (a seed: wrong), by
    the time-cue and figure conflicts of the joined row: would a veto on a conflict pay?"""
    print("online joins per order: right / wrong (seed), by conflict in the joined row")
    rows = [("all", lambda c: True), *((cue, lambda c, cue=cue: cue in c) for cue in CUES), ("any", lambda c: bool(c))]
    for label, pick in rows:
        right = sum(1 for ok, c, _ in joins if ok and pick(c)) / orders
        wrong = sum(1 for ok, c, _ in joins if not ok and pick(c)) / orders
        print(f"  {label:<14} right {right:7.1f}  wrong {wrong:6.1f}")


def print_report(name: str, prec: list[dict], rec: list[dict], top: int) -> None:
    lp, lr = sum(i["loss"] for i in prec), sum(i["loss"] for i in rec)
    print(f"\n== {name}: precision loss {lp:.4f}, recall loss {lr:.4f} (B3 points, mean over orders)")
    by = Counter()
    for i in prec:
        by[(i["path"], _bucket(i["p"]))] += i["loss"]
    print("precision loss by path (join p of the seed):")
    for (path, b), v in sorted(by.items(), key=lambda kv: -kv[1]):
        print(f"  {path:<22} {b:<8} {v:.4f}")
    by_topic = Counter()
    for i in prec:
        by_topic[(i["part"].split("/")[-1] if "/" in i["part"] else "", i["topic"], tuple(sorted(i["events"])))] += i["loss"]
    print("largest merged event pairs (fold, topic, events): loss")
    for (f, t, ev), v in by_topic.most_common(top):
        paths = Counter(i["path"] for i in prec if tuple(sorted(i["events"])) == ev)
        ps = [round(i["p"], 2) for i in prec if tuple(sorted(i["events"])) == ev and i["p"] is not None]
        print(f"  fold {f} topic {t:<5} {ev[0][:28]:<28} + {ev[1][:28]:<28} {v:.4f}  {dict(paths)} p {ps[:6]}")
    by = Counter()
    for i in rec:
        by[i["why"]] += i["loss"]
    print("recall loss by reason:")
    for why, v in by.most_common():
        sizes = Counter(min(i["sizes"][1], 4) for i in rec if i["why"] == why)
        print(f"  {why:<30} {v:.4f}   smaller piece sizes {dict(sorted(sizes.items()))} (4 = 4+)")
    by = Counter()
    for i in rec:
        by[("online: own story retrieved" if i["online_own_retrieved"] else
            "online: own story existed, not retrieved" if i["online_own_existed"] else "online: first of its event"),
           _bucket(i["online_own_p"])] += i["loss"]
    print("recall loss by the piece's first article at arrival (best p to a story of its event):")
    for (k, b), v in sorted(by.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<42} {b:<8} {v:.4f}")
    for field in ("merge_p", "end_p"):
        by = Counter()
        for i in rec:
            if i["why"].startswith(("mutual", "not mutual", "best elsewhere")):
                by[(i["why"], _bucket(i.get(field)))] += i["loss"]
        print(f"recall loss of retrieved pieces by {field}:")
        for (k, b), v in sorted(by.items()):
            print(f"  {k:<30} {b:<8} {v:.4f}")


if __name__ == "__main__":
    sys.exit(main())
