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
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import resolve
from .dots import TRANSIENT
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


def identity_conflict(groups: list[list[ArticleVector]], share: float) -> bool:
    """Whether two groups of articles name different events: for years, months or figures, each
    group's core (what at least ``share`` of its members name) is non-empty and the two cores share
    nothing (a quake in 2008 and one in 2012, a 6.1 and a 7.3)."""
    for cue in ("years", "months", "figures"):
        cores = []
        for vecs in groups:
            counts: dict[str, int] = {}
            for v in vecs:
                for x in getattr(v, cue):
                    counts[x] = counts.get(x, 0) + 1
            cores.append({x for x, c in counts.items() if c >= share * len(vecs)})
        if all(cores) and not cores[0] & cores[1]:
            return True
    return False


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
    out.unit_ = out.member_dense_ = out.member_terms_ = out.core_ = out.vector_ = out.indexed_ = None
    out.dots_ = TRANSIENT  # scored once: from its dicts, not arrays
    out._renorm()
    return out


def _less(total: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    out = dict(total)
    for w, v in part.items():
        if w in out:
            out[w] -= v
    return out


def _members(cl: Any, stories: list[str], max_size: int) -> list[tuple[str, int, str, ArticleVector]]:
    """(story, position, article, vector) of every member refine looks at."""
    out = []
    for s in stories:
        st = cl.stories_.get(s)
        if st is None or st.items is None or len(st.items) != st.size or st.size > max_size:
            continue
        out.extend((s, i, article, vec) for i, (article, vec) in enumerate(st.items) if article)
    return out


_NO_SEARCH: tuple[Any, ...] = ((), (), (math.inf, math.inf), math.inf, {}, None)  # a member decided without a search


def _judge(cl: Any, s: str, i: int, margin: float, min_p: float, targets: set[str], keep_headlines: bool,
           prior: tuple[Any, ...] | None = None, changed: set[str] | frozenset[str] = frozenset(),
           single: tuple[float, float, float | None, float] | None = None) -> tuple[Any, ...]:
    """Where the ``i``-th member of story ``s`` moves ((to story, p there, p at home) or None),
    with what that depends on: the stories its search returned from each index, the index score
    and cosine another story must reach to enter, each candidate's probability and the
    probability at home without the member (None: not needed). ``prior``: an earlier judgement
    of this article whose search still comes out the same, or (its first item None) one whose
    search may not: searched again; either way only the ``changed`` stories are scored again."""
    st = cl.stories_[s]
    _, vec = st.items[i]
    if (st.size == 1 and s in targets) or (keep_headlines and vec.headline):
        return (None, *_NO_SEARCH)

    def at_home() -> tuple[str, float]:
        """The member's probability in its own story without it (leave-one-out)."""
        return s, float(cl.model.predict(cl._feature_rows(vec, [without(st, i)]))[0])

    old, loo = ({}, None) if prior is None else _kept(prior, s, changed)
    if prior is None or prior[0] is None:
        # afresh, or (a prior without its search) searched again because the search may come out
        # otherwise: the probabilities of the stories that did not change are kept
        if loo is None and st.size > 1:
            # at home with a probability no other story can beat by the margin (none exceeds 1):
            # it stays, whatever a search would find, so none is made
            loo = at_home()
        if loo is not None and loo[1] + margin > 1.0:
            return (None, *_NO_SEARCH[:-1], loo)
        _, sparse, dense, cut, dense_cut = cl._search(vec)
    else:
        sparse, dense, cut, dense_cut = prior[:4]
    cands = [c for c in dict.fromkeys([*sparse, *dense]) if c != s and cl._open(cl.stories_[c], vec.when)]
    new = [c for c in cands if c not in old]
    probs = dict(old)
    if new:
        probs.update(zip(new, map(float, cl.model.predict(cl._feature_rows(vec, [cl.stories_[c] for c in new])))))
    probs = {c: probs[c] for c in cands}
    out = sparse, dense, cut, dense_cut, probs
    if not cands:
        return (None, *out, None)
    root = resolve(s, cl.merges_)
    # first without the story-less-this-member row: when no other story leads even the linked
    # ones by the margin, its own story (which only adds to "home") cannot change that
    best, best_p, home = _best(cl, cands, probs, root, 0.0)
    if st.size > 1 and best is not None and best_p >= min_p and best_p >= home + margin:
        if loo is None:
            loo = at_home()
        best, best_p, home = _best(cl, cands, probs, root, loo[1])
    if st.size == 1 and single is not None and s not in cl.merges_:
        # an article that is a story by itself (not linked to another): its own bar, and a lead
        # over the runner-up (a linked one may have a home outside its candidates)
        min_p = margin = single[0]
        second = max((p for c, p in probs.items() if c != best), default=0.0)
        if best is not None and (best_p < single[0] or best_p < single[1] * second):
            # short of the bar or the lead: a second view's agreement takes it at its own bar
            if single[2] is not None and best_p >= single[2] and agrees(cl, vec, cands, root, best, single[3]):
                min_p = margin = single[2]
            elif best_p < single[1] * second:
                return (None, *out, loo)
    if best is not None and best_p >= min_p and best_p >= home + margin:
        return ((best, best_p, home), *out, loo)
    return (None, *out, loo)


def _kept(prior: tuple[Any, ...], s: str, changed: set[str] | frozenset[str]) -> tuple[dict[str, float], Any]:
    """What an earlier judgement of a member of ``s`` still tells: the probabilities of the
    stories that did not change, and its leave-one-out row when its own story did not."""
    loo = prior[5]
    if s in changed or (loo is not None and loo[0] != s):
        loo = None
    return {c: p for c, p in prior[4].items() if c not in changed}, loo


def agrees(cl: Any, vec: ArticleVector, cands: list[str], root: str, best: str, lead: float) -> bool:
    """Whether ``best`` is also the candidate outside the member's own story whose embedding is
    nearest the member's around the training articles' mean (``cl.dense_centre``), by a cosine
    ``lead`` over the next: a second view the join model does not have."""
    if cl.dense_centre is None or vec.dense is None:
        return False
    centre = cl.dense_centre
    a = vec.dense - centre
    norm_a = np.linalg.norm(a)
    cosines = []
    for c in cands:
        unit = cl.stories_[c].unit_dense()
        if unit is not None and resolve(c, cl.merges_) != root:
            b = unit - centre
            cosines.append((float(a @ b) / (float(norm_a * np.linalg.norm(b)) or 1.0), c))
    cosines.sort(key=lambda t: (-t[0], t[1]))
    if not cosines or cosines[0][1] != best:
        return False
    return len(cosines) == 1 or cosines[0][0] - cosines[1][0] >= lead


def _best(cl: Any, cands: list[str], probs: dict[str, float], root: str, home: float) -> tuple[str | None, float, float]:
    """The most probable candidate outside the member's own (linked) story, its probability, and
    the member's probability at home (``home``, or a story linked to its own); order-free."""
    best, best_p = None, -1.0
    for c in cands:
        p = probs[c]
        if resolve(c, cl.merges_) == root:
            home = max(home, float(p))  # a story linked to this one is home too
        elif float(p) > best_p or (float(p) == best_p and best is not None and c < best):
            best, best_p = c, float(p)
    return best, best_p, home


def snapshot(cl: Any) -> dict[str, tuple[Any, int]]:
    """Every open story's state object and size: enough to tell later which changed (consolidation
    replaces a story's state or grows it, never edits it at the same size)."""
    return {s: (st, st.size) for s, st in cl.stories_.items()}


def changed_since(cl: Any, then: dict[str, tuple[Any, int]]) -> set[str]:
    """The stories opened, closed, replaced or grown since :func:`snapshot` ``then``."""
    out = {s for s, (st, size) in then.items() if cl.stories_.get(s) is not st or st.size != size}
    out.update(s for s in cl.stories_ if s not in then)
    return out


def _searches_move(cl: Any, entries: dict[str, tuple[ArticleVector | None, Any, Any, float, float]], changed: set[str],
                   vector: Any = None) -> set[str]:
    """The entries (key -> (query vector, stories its inverted-index and dense search returned,
    the least score and cosine among them)) whose search may return other stories now that the
    ``changed`` stories changed: a changed story that was returned falls under the cut, or one
    that was not reaches it (with a small slack either way, so a rounding difference only costs
    a search). A search that returns the same stories is scored again for the changed ones only.
    ``vector(key)`` gives a query vector left None."""
    gone = {x for x in changed if x not in cl.stories_}
    out = {k for k, (_, sparse, dense, _, _) in entries.items() if any(c in gone for c in sparse) or any(c in gone for c in dense)}
    rest = {k: e for k, e in entries.items() if k not in out and (math.isfinite(e[3][0]) or math.isfinite(e[4]))}
    enter = sorted(x for x in changed if x in cl.stories_)
    if not rest or not enter:
        return out
    vecs = {k: e[0] if e[0] is not None else vector(k) for k, e in rest.items()}
    by_term: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for k, vec in vecs.items():
        for w in vec.top:
            by_term[w].append((k, vec.terms[w]))
    in_sparse: dict[str, list[str]] = defaultdict(list)
    in_dense: dict[str, list[str]] = defaultdict(list)
    for k, e in rest.items():
        for c in e[1]:
            in_sparse[c].append(k)
        for c in e[2]:
            in_dense[c].append(k)
    # inverted index: the returned stories stay the k best when every changed one among them still
    # beats the best score left out, and no changed one left out reaches the weakest returned
    weakest: dict[str, float] = {}
    reach: dict[str, float] = {}
    for x in enter:
        acc: dict[str, float] = defaultdict(float)
        for w in cl.stories_[x].indexed():
            for k, a in by_term.get(w, ()):
                acc[k] += a
        members = set(in_sparse.get(x, ()))
        for k in members:
            weakest[k] = min(weakest.get(k, math.inf), acc.get(k, 0.0))
        for k, a in acc.items():
            if a > 0 and k not in members:
                reach[k] = max(reach.get(k, 0.0), a)
    eps = 1e-9
    out.update(k for k, a in weakest.items() if a <= rest[k][3][1] + eps)
    out.update(k for k, a in reach.items() if a >= min(rest[k][3][0], weakest.get(k, math.inf)) - eps)
    keys = [k for k in rest if k not in out and vecs[k].dense is not None and math.isfinite(rest[k][4])]
    dense = [x for x in enter if cl.stories_[x].dense is not None]
    if dense and keys:
        row = {k: j for j, k in enumerate(keys)}
        q = np.vstack([vecs[k].dense for k in keys]).astype(np.float32)
        cuts = np.asarray([rest[k][4] for k in keys])
        hit = np.zeros(len(keys), dtype=bool)
        for j in range(0, len(dense), 256):
            xs = dense[j : j + 256]
            sims = q @ np.vstack([cl.stories_[x].unit_dense() for x in xs]).astype(np.float32).T
            member = np.zeros(sims.shape, dtype=bool)
            for col, x in enumerate(xs):
                member[[row[k] for k in in_dense.get(x, []) if k in row], col] = True
            slack = 1e-4
            hit |= np.where(member, sims < cuts[:, None] + slack, sims >= cuts[:, None] - slack).any(axis=1)
        out.update(k for k, h in zip(keys, hit) if h)
    return out


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


@dataclass
class Judged:
    """Refine's judgements and what they depend on, carried from one :func:`refine_pass` to the
    next: article -> (story, verdict, sparse, dense, cut, dense cut, probs, loo), the stories as
    they were when last judged, and the stories others were linked to then."""

    memo: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    then: dict[str, tuple[Any, int]] = field(default_factory=dict)
    targets: set[str] = field(default_factory=set)


def _searched_vector(cl: Any, item: tuple[str, int, tuple[Any, ...] | None]) -> Any:
    """The vector :func:`_judge` may search with for ``item`` (None: it reuses its prior search)."""
    s, i, prior = item
    return cl.stories_[s].items[i][1] if prior is None or prior[0] is None else None


def refine_pass(cl: Any, stories: list[str], rounds: int, margin: float, min_p: float, max_size: int = 64,
                keep_headlines: bool = False, single: tuple[float, float, float | None, float] | None = None,
                judged: Judged | None = None) -> int:
    """Up to ``rounds`` rounds of moves (each member judged by :func:`_judge`, the round's moves
    chosen by :func:`_accepted`) applied by :func:`apply_moves` over ``stories`` (and the
    stories that change); returns the number of moves made. Later rounds judge again only what
    may come out otherwise (the same decisions as proposing afresh): a member whose search,
    story and candidates stayed as they were keeps its verdict; one whose search returns the
    same stories is scored again against the changed ones only. Searches are shared with forked
    helpers (``cl.workers``). ``single`` (bar, lead, agree bar, agree lead): a member of a single-article
    story linked to no other moves at that bar when its best story leads the runner-up ``lead``
    times, or at the agree bar (None: never) when :func:`agrees` (cosine lead: agree lead).
    ``judged``: an earlier pass's judgements (:class:`Judged`, updated in place): their verdicts
    were reached at other bars, so every member is judged again, but from its search and
    probabilities where they still stand."""
    todo = [s for s in dict.fromkeys(stories) if s in cl.stories_]
    made = 0
    judged = Judged() if judged is None else judged
    memo = judged.memo
    again = bool(memo)  # another pass's verdicts: none is kept
    changed: set[str] = set()
    for _ in range(rounds):
        targets = _linked_into(cl)
        members = _members(cl, todo, max_size)
        items: list[tuple[str, int, Any]] = []
        moved: set[str] = set()
        if memo:
            changed = changed_since(cl, judged.then) | (targets - judged.targets)
            moved = _searches_move(cl, {a: (vec, *memo[a][2:6]) for _, _, a, vec in members if a in memo}, changed)
        for s, i, a, _ in members:
            m = memo.get(a)
            if m is None or (m[4][0] == math.inf and (again or m[0] != s or s in changed)):
                items.append((s, i, None))  # judged afresh (it was not searched)
            elif m[4][0] == math.inf:
                continue
            elif a in moved:
                items.append((s, i, (None, *m[3:])))  # searched again, unchanged stories' probabilities kept
            elif (again or m[0] != s or s in changed or any(c in changed for c in m[6])
                  or any(c in changed for c in (*m[2], *m[3]))):
                items.append((s, i, m[2:]))
        judged.then, judged.targets, again = snapshot(cl), targets, False
        verdicts = cl._shared(lambda c, it: _judge(c, it[0], it[1], margin, min_p, targets, keep_headlines, it[2], changed, single), items,
                              _searched_vector)
        for (s, i, _), verdict in zip(items, verdicts):
            memo[cl.stories_[s].items[i][0]] = (s, *verdict)
        moves = [(a, vec, s, *memo[a][1]) for s, _, a, vec in members if memo[a][1] is not None]
        moves = _accepted(cl, moves)
        if not moves:
            break
        made += len(moves)
        changed = set(apply_moves(cl, moves))
        todo = [s for s in dict.fromkeys(todo + list(changed)) if s in cl.stories_]
    return made


def one_sided_pass(cl: Any, stories: list[str], max_size: int, min_back: float,
                   searched: tuple[dict[str, tuple[Any, int]], dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    """Merge every small story (at most ``max_size`` articles) among ``stories`` into its best
    partner when the partner, scored the other way, also finds it probable (``min_back``) and the
    merge model accepts the pair, though the partner's own best match is another story: a big
    story is the best partner of only one of the fragments around it, so mutual best alone leaves
    the others out. Decided for all at once; returns the links made (small -> partner).
    ``searched``: the mutual pass's first searches (``StoryClusterer._mutual_pass``), reused for
    the stories whose search would come out the same (see :func:`_stale`)."""
    todo = [s for s in dict.fromkeys(stories) if s in cl.stories_ and cl.stories_[s].size <= max_size]
    best = {}
    rescore: dict[str, list[Any]] = {}
    if searched is not None:
        then, found = searched
        changed = changed_since(cl, then)
        known = {s: found[s] for s in todo if s in found and s not in changed}
        moved = _searches_move(cl, {s: (None, *f[1:5]) for s, f in known.items()}, changed, lambda s: cl._story_vector(cl.stories_[s]))
        for s, (partner, _, _, _, _, scored) in known.items():
            kept = [t for t in scored if t[1] not in changed]
            if s in moved:  # searched again below, scored against the changed stories only
                rescore[s] = kept
            elif len(kept) == len(scored) and partner[1] not in changed:
                best[s] = partner
            else:  # the same search: only its changed stories are scored again
                vec = cl._story_vector(cl.stories_[s])
                f = found[s]
                again = [c for c in dict.fromkeys([*f[1], *f[2]]) if c != s and c in changed and cl._open(cl.stories_[c], vec.when)]
                kept += cl._scored(vec, again)
                best[s] = max(kept, key=lambda t: (t[0], t[1])) if kept else (0.0, None, 0.0, None)
    best.update(cl._best_partners([s for s in todo if s not in best], kept=rescore))
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


__all__ = ["Judged", "refine_pass", "apply_moves", "one_sided_pass", "two_groups", "snapshot", "changed_since"]
