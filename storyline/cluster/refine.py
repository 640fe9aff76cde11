"""Order-free repair at consolidation: every article re-scored against the stories near it.

An online clusterer decides each article once, against the stories that existed when it came: a
report that arrived before the rest of its event opens a story of its own, and the first report of
a look-alike event may join its twin. At the end of input every story is known, so
:func:`refine_pass` asks again, for each member of a story that still holds its members' vectors:
how probable is its own story *without it* (leave-one-out: a story's own member otherwise makes
every similarity look perfect), and how probable is the best other nearby story? It moves when the
other story clears the join bar and leads its own by a clear margin. Moves are decided for a whole
round against one fixed state and then applied, so the outcome does not depend on which article is
looked at first; a few rounds let a moved article pull its own kind.

A story left empty by a move is merged into the story its article went to (``merges_``: the old
id still resolves); an article moved out of a story that keeps other members is recorded in
``moved_``, as a split records it.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import numpy as np

from .base import resolve
from .features import ArticleVector, sparse_dot
from .join import merge_row


def two_groups(items: list[tuple[str, ArticleVector]]) -> tuple[list[list[int]], float] | None:
    """The members cut in two by average-link over their TF-IDF and embedding cosines, and how
    well the two groups are separated: their mean similarity across, over the lower of the two
    groups' mean similarity within (small: two tight groups far apart)."""
    n = len(items)
    if n < 2:
        return None
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = items[i][1], items[j][1]
            dn = float(a.dense @ b.dense) if a.dense is not None and b.dense is not None else 0.0
            sim[i, j] = sim[j, i] = 0.5 * (sparse_dot(a.terms, b.terms) + dn)
    from scipy.cluster.hierarchy import fcluster, linkage

    dist = 1.0 - sim[np.triu_indices(n, 1)]
    labels = fcluster(linkage(np.clip(dist, 0.0, 2.0), method="average"), 2, criterion="maxclust")
    groups = [[i for i in range(n) if labels[i] == c] for c in sorted(set(labels))]
    if len(groups) != 2 or min(len(g) for g in groups) < 2:
        return None
    a, b = groups
    across = float(sim[np.ix_(a, b)].mean())
    within = min(float(sim[np.ix_(g, g)][np.triu_indices(len(g), 1)].mean()) for g in groups)
    return groups, across / within if within > 0 else 1.0


def _linked_into(cl: Any) -> set[str]:
    """Stories some other story is linked to (they may not vanish: others resolve through them)."""
    return set(cl.merges_.values())


def without(st: Any, i: int) -> Any:
    """Story ``st`` without its ``i``-th member (its sums less the member's vector): a cheap
    leave-one-out copy for scoring, never stored (the centroid may keep terms near zero)."""
    _, vec = st.items[i]
    out = copy.copy(st)
    out.size = st.size - 1
    out.items = st.items[:i] + st.items[i + 1:]
    out.terms = _less(st.terms, vec.terms)
    out.entities = _less(st.entities, vec.entities)
    out.title = _less(st.title, vec.title)
    if st.dense is not None and vec.dense is not None:
        out.dense = st.dense - vec.dense
    out.names = {n: c - (n in vec.names) for n, c in st.names.items() if c - (n in vec.names) > 0}
    out.figures = {f: c - (f in vec.figures) for f, c in st.figures.items() if c - (f in vec.figures) > 0}
    if i < len(st.members):
        out.members = [(v.terms, v.dense) for _, v in out.items[: len(st.members)]]
    for cue in ("days", "years", "months"):
        setattr(out, cue, set().union(*(getattr(v, cue) for _, v in out.items)))
    out.unit_ = out.member_dense_ = out.core_ = None
    out._renorm()
    return out


def _less(total: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    out = dict(total)
    for w, v in part.items():
        if w in out:
            out[w] -= v
    return out


def propose(cl: Any, stories: list[str], margin: float, min_p: float, max_size: int = 64) -> list[tuple[str, Any, str, str, float, float]]:
    """The moves one round makes: (article, vector, from story, to story, p there, p at home),
    for the members of stories of at most ``max_size`` articles."""
    moves = []
    targets = _linked_into(cl)
    for s in stories:
        st = cl.stories_.get(s)
        if st is None or st.items is None or len(st.items) != st.size or st.size > max_size:
            continue
        root = resolve(s, cl.merges_)
        for i, (article, vec) in enumerate(st.items):
            if not article or (st.size == 1 and s in targets):
                continue
            cands = [c for c in cl._candidates(vec) if c != s]
            if not cands:
                continue
            states = [cl.stories_[c] for c in cands]
            if st.size > 1:
                states.append(without(st, i))
            probs = cl.model.predict(cl._feature_rows(vec, states))
            home = float(probs[-1]) if st.size > 1 else 0.0
            best, best_p = None, -1.0
            for c, p in zip(cands, probs):
                if resolve(c, cl.merges_) == root:
                    home = max(home, float(p))  # a story linked to this one is home too
                elif float(p) > best_p or (float(p) == best_p and best is not None and c < best):
                    best, best_p = c, float(p)
            if best is not None and best_p >= min_p and best_p >= home + margin:
                moves.append((article, vec, s, best, best_p, home))
    return moves


def _accepted(cl: Any, moves: list[tuple[str, Any, str, str, float, float]]) -> list[tuple[str, Any, str, str, float, float]]:
    """The moves one round may make together, clearest first (the lead over home, then article
    id): a story is a source or a destination in a round, not both, and a story others are linked
    to keeps at least one member."""
    targets = _linked_into(cl)
    srcs: dict[str, int] = {}
    dsts: set[str] = set()
    out = []
    for m in sorted(moves, key=lambda m: (-(m[4] - m[5]), m[0])):
        _, _, src, dst, _, _ = m
        if src in dsts or dst in srcs:
            continue
        left = cl.stories_[src].size - srcs.get(src, 0) - 1
        if left == 0 and src in targets:
            continue
        srcs[src] = srcs.get(src, 0) + 1
        dsts.add(dst)
        out.append(m)
    return out


def _index(cl: Any, story: str, old_terms: set[str]) -> None:
    st = cl.stories_[story]
    new_terms = st.indexed()
    cl.terms_.remove(story, old_terms - new_terms)
    cl.terms_.add(story, new_terms - old_terms)
    if cl.dense_ is not None and st.dense is not None:
        cl.dense_.set(story, st.unit_dense())


def apply_moves(cl: Any, moves: list[tuple[str, Any, str, str, float, float]]) -> list[str]:
    """Apply one round's accepted moves; returns the stories that changed."""
    out_of: dict[str, set[str]] = defaultdict(set)
    into: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for article, vec, src, dst, _, _ in moves:
        out_of[src].add(article)
        into[dst].append((article, vec))
    changed: dict[str, None] = {}
    for src, gone in out_of.items():
        st = cl.stories_[src]
        keep = [j for j, (a, _) in enumerate(st.items) if a not in gone]
        if keep:
            old_terms = st.indexed()
            new = cl._rebuilt(src, st, keep)
            cl.stories_[src] = new
            _index(cl, src, old_terms)
            changed[src] = None
    for dst, arrivals in into.items():
        st = cl.stories_[dst]
        old_terms = st.indexed()
        for article, vec in arrivals:
            st.add(vec, article)
        _index(cl, dst, old_terms)
        changed[dst] = None
    for article, _, _, dst, _, _ in moves:
        cl.moved_[article] = dst
    for src, gone in out_of.items():
        if src not in changed:  # every member left: the story merges into where they went
            dst = next(d for a, _, s, d, _, _ in moves if s == src)
            cl._close([src])
            cl.merges_[src] = resolve(dst, cl.merges_)
            for article in gone:
                if resolve(cl.moved_[article], cl.merges_) == cl.merges_[src]:
                    del cl.moved_[article]
    return list(changed)


def refine_pass(cl: Any, stories: list[str], rounds: int, margin: float, min_p: float, max_size: int = 64) -> int:
    """Up to ``rounds`` rounds of :func:`propose` + :func:`apply_moves` over ``stories`` (and the
    stories that change); returns the number of moves made."""
    todo = [s for s in dict.fromkeys(stories) if s in cl.stories_]
    made = 0
    for _ in range(rounds):
        moves = _accepted(cl, propose(cl, todo, margin, min_p, max_size))
        if not moves:
            break
        made += len(moves)
        changed = apply_moves(cl, moves)
        todo = [s for s in dict.fromkeys(todo + changed) if s in cl.stories_]
    return made


def one_sided_pass(cl: Any, stories: list[str], max_size: int, min_back: float) -> list[tuple[str, str]]:
    """Merge every small story (at most ``max_size`` articles) among ``stories`` into its best
    partner when the partner, scored the other way, also finds it probable (``min_back``) and the
    merge model accepts the pair, though the partner's own best match is another story: a big
    story is the best partner of only one of the fragments around it, so mutual best alone leaves
    the others out. Decided for all at once; returns the links made (small -> partner)."""
    todo = [s for s in dict.fromkeys(stories) if s in cl.stories_ and cl.stories_[s].size <= max_size]
    best = cl._best_partners(todo)
    pairs = []
    for s in todo:
        p, other, dense, row = best[s]
        if other is None or other not in cl.stories_ or resolve(s, cl.merges_) == resolve(other, cl.merges_):
            continue
        if not cl._may_merge(p, dense):
            continue
        a, b = cl.stories_[s], cl.stories_[other]
        row_back = cl._feature_rows(cl._story_vector(b), [a])
        p_back = float(cl.model.predict(row_back)[0])
        if p_back < min_back:
            continue
        pairs.append((s, other, [merge_row(p, p_back, dense, a.size, b.size, row), merge_row(p_back, p, dense, b.size, a.size, row_back[0])]))
    if not pairs or cl.merge_model is None:
        return []
    z = cl.merge_model.predict([r for _, _, rows in pairs for r in rows]).reshape(len(pairs), 2)
    keep = 1.0 / (1.0 + np.exp(-z.mean(axis=1))) >= cl.learned_merge_threshold
    made = []
    for (s, other, _), ok in sorted(zip(pairs, keep), key=lambda t: t[0][0]):
        if ok and s in cl.stories_ and other in cl.stories_ and cl._link(s, other):
            made.append((s, other))
    return made


__all__ = ["refine_pass", "propose", "apply_moves", "one_sided_pass", "two_groups"]
