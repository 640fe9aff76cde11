"""The compiled kernels (storyline/_kernels.c) against the Python path they replace.

Each kernel must give the Python path's values to the bit, so both paths are run on the same
inputs here. Without the built module these tests skip (an install with no C compiler runs the
Python path only); with STORYLINE_REQUIRE_KERNELS=1 (``make test``, so CI) they fail instead, so
CI cannot pass on the fallback alone.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DEMO, compiled_kernels
from storyline import kernels
from storyline.cluster.stream import StoryClusterer
from storyline.ingest import read_paths
from storyline.models import Article



@pytest.fixture(scope="module")
def native():  # type: ignore[no-untyped-def]
    return compiled_kernels()


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(st.lists(finite | st.sampled_from([1.0, -1.0, 1e308, -1e308, 5e-324, 1e-16, 0.5]), max_size=40))
def test_the_exact_sum_is_math_fsums(native, values: list[float]) -> None:  # type: ignore[no-untyped-def]
    try:
        expected = math.fsum(values)
    except OverflowError:
        with pytest.raises(OverflowError):
            native.exact_sum(values)
        return
    got = native.exact_sum(values)
    assert got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


def test_the_exact_sum_rounds_half_way_cases_as_fsum(native) -> None:  # type: ignore[no-untyped-def]
    """Sums whose exact value lies at or near a half-way point between two floats (the final
    correction step) and long cancelling runs."""
    rng = np.random.default_rng(7)
    cases = [[1.0, 2.0**-53], [1.0, 2.0**-53, 2.0**-106], [1.0, 2.0**-53, -(2.0**-106)], [1e16, 1.0, 1e-16],
             [0.1] * 10 + [-1.0], [2.0**-1074] * 3]
    for _ in range(3000):
        n = int(rng.integers(1, 25))
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n)
        cases.append([*values.tolist(), *(-values[: n // 2]).tolist()])
    for values in cases:
        assert native.exact_sum(values) == math.fsum(values), values


@pytest.fixture(scope="module")
def demo() -> list[Article]:
    articles = list(read_paths([DEMO]))
    assert len(articles) > 90
    return articles


def _recorded(monkeypatch: pytest.MonkeyPatch, use: object, articles: list[Article],
              **options: object) -> tuple[list[bytes], list[str]]:
    """Every feature matrix a clusterer computes over ``articles`` (stream and consolidation), as
    bytes (so -0.0 and 0.0 differ), and its assignments, with ``kernels.native`` set to ``use``."""
    monkeypatch.setattr(kernels, "native", use)
    cl = StoryClusterer(workers=0, **options)
    seen: list[bytes] = []
    real = cl._feature_rows

    def recording(vec, states):  # type: ignore[no-untyped-def]
        x = real(vec, states)
        seen.append(np.ascontiguousarray(x).tobytes())
        return x

    cl._feature_rows = recording  # type: ignore[method-assign]
    assigned = [s for at in range(0, len(articles), 16) for s in cl.partial_fit(articles[at : at + 16])]
    merges = cl.consolidate()
    return seen, assigned + sorted(f"{a}>{b}" for a, b in merges.items())


@pytest.mark.parametrize("options", [{}, {"embedder": None}], ids=["embeddings", "no-embeddings"])
def test_compiled_feature_rows_are_the_python_rows_to_the_bit(native, demo, monkeypatch, options):  # type: ignore[no-untyped-def]
    """The demo corpus, in batches of 16, with the kernels and without: the same feature matrices
    byte for byte (the sparse dot products, cosines, cue agreements and name shares), so the same
    assignments and merges."""
    longer = [replace(a, id=f"{a.id}-again", text=f"{a.text} {b.text}") for a, b in zip(demo[:30], demo[1:31])]
    articles = demo + longer
    compiled, python = _recorded(monkeypatch, native, articles, **options), _recorded(monkeypatch, None, articles, **options)
    assert len(compiled[0]) > 100 and compiled[0] == python[0]
    assert compiled[1] == python[1]


def test_a_value_that_is_not_finite_takes_the_python_path(native) -> None:  # type: ignore[no-untyped-def]
    """The kernels hand back what they cannot sum exactly (a product or a weight that is not
    finite), so the Python path decides, with math.fsum's own errors."""
    scratch = np.zeros(8)
    story = (np.array([1, 2], dtype=np.intp), np.array([math.inf, 1.0]), [2, 0, 0], True)
    assert native.segment_dots(scratch, np.array([1], dtype=np.intp), np.array([2.0]), [story]) is None
    assert not scratch.any()  # the query's weights were taken out again
    fine = (np.array([1, 2, 3], dtype=np.intp), np.array([0.5, 1.0, 4.0]), [1, 1, 1, 0], False)
    assert native.segment_dots(scratch, np.array([1, 3], dtype=np.intp), np.array([2.0, 0.25]), [fine]) == [(1.0, 0.0, 1.0, 0.0)]
    with pytest.raises(IndexError):
        native.segment_dots(scratch, np.array([9], dtype=np.intp), np.array([1.0]), [fine])
    with pytest.raises(TypeError):
        native.segment_dots(scratch, np.array([1.0]), np.array([1.0]), [fine])


def test_the_rows_hand_back_a_name_weight_that_is_not_finite(native, demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A name weighted inf that a story also names: the compiled rows decline (False), and with a
    finite weight they are written (True) and equal the Python rows."""
    monkeypatch.setattr(kernels, "native", native)
    cl = StoryClusterer(workers=0)
    cl.partial_fit(demo[:40])
    vec = cl.preparer()(demo[40:41])[0]
    states = [s for s in cl.stories_.values() if s.names][:5]
    named = next(iter(states[0].names))
    article = (vec.dense, float(vec.short), math.log1p(len(vec.entities)), vec.days, vec.years, vec.months, vec.figures)
    dots = cl.sparse_.dots(vec, states)
    sizes = tuple(math.log1p(n) for n in range(11))
    x = np.empty((len(states), 21))
    assert native.feature_rows(x, article, states, dots, {named: math.inf}, math.inf, {}, 0.0, cl._core_of, sizes,
                               np.maximum.reduce) is False
    assert native.feature_rows(x, article, states, dots, {named: 2.0}, 2.0, {}, 0.0, cl._core_of, sizes,
                               np.maximum.reduce) is True
    python = [cl._feature_row(vec, s, {named: 2.0}, 2.0, {}, 0.0, d) for s, d in zip(states, dots)]
    assert x.tobytes() == np.asarray(python, dtype=np.float64).tobytes() and x[0, 17] == 1.0


def test_the_term_sums_are_the_python_sums_in_the_python_order(native, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``TermIndex._sums`` compiled and in Python: the same stories, in the same dict order, with
    the same sums to the bit, with and without ``among`` (the stories changed since a block); a
    searched term the weights lack raises KeyError both ways."""
    from storyline.cluster.index import TermIndex

    rng = np.random.default_rng(3)
    stories = [f"s{i}" for i in range(60)]
    vocabulary = [f"w{i}" for i in range(40)]
    for _ in range(300):
        postings = {w: {stories[i] for i in rng.choice(60, int(rng.integers(0, 12)), replace=False)}
                    for w in rng.choice(vocabulary, 25, replace=False).tolist()}
        terms = rng.choice(vocabulary, int(rng.integers(0, 15)), replace=False).tolist()
        weights = {w: float(rng.random() * 10.0 ** rng.integers(-3, 3)) for w in terms}
        among = {stories[i] for i in rng.choice(60, 20, replace=False)} if rng.random() < 0.5 else None
        compiled = native.term_sums(terms, weights, postings, among)
        monkeypatch.setattr(kernels, "native", None)
        python = TermIndex._sums(terms, weights, postings, among)
        monkeypatch.setattr(kernels, "native", native)
        assert list(compiled.items()) == list(python.items())
    with pytest.raises(KeyError):
        native.term_sums(["w1"], {}, {"w1": {"s1"}}, None)
    assert native.term_sums(["w1"], {}, {"w1": set()}, None) == {}  # an empty posting reads no weight


def test_the_id_arrays_hand_out_the_python_ids(native, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``SparseDots._arrays`` compiled and in Python, from the same tables: the same ids (new
    terms numbered in the same order), weights, tables and next id; a table emptied by
    ``max_ids`` starts again the same way."""
    from storyline.cluster.dots import SparseDots

    rng = np.random.default_rng(5)
    vocabulary = [f"t{i}" for i in range(300)]

    def parts_of() -> list[tuple[int, dict[str, float]]]:
        return [(kind, {w: float(rng.standard_normal()) for w in rng.choice(vocabulary, int(rng.integers(0, 30)), replace=False)})
                for kind in rng.choice(3, int(rng.integers(1, 5))).tolist()]

    compiled, python = SparseDots(max_ids=400), SparseDots(max_ids=400)
    for _ in range(400):
        parts = parts_of()
        a = compiled._arrays(parts)
        monkeypatch.setattr(kernels, "native", None)
        b = python._arrays(parts)
        monkeypatch.setattr(kernels, "native", native)
        assert a[0].tolist() == b[0].tolist() and a[1].tobytes() == b[1].tobytes()
        assert compiled.ids_ == python.ids_ and compiled.next_ == python.next_
        if compiled.next_ > compiled.max_ids:
            compiled._reset()
            python._reset()
    with pytest.raises(TypeError):
        native.id_arrays(compiled.ids_, 0, [(7, {"a": 1.0})], np.empty(1, dtype=np.intp), np.empty(1))
    with pytest.raises(ValueError):
        native.id_arrays(compiled.ids_, 0, [(0, {"a": 1.0, "b": 2.0})], np.empty(1, dtype=np.intp), np.empty(1))


def test_the_compiled_sketch_is_the_numpy_sketch(native, demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """SHA-1 by hand, checked against hashlib at every length where its padding changes (0-200
    bytes, non-ASCII text included) through the finalizer (a = 1, b = 0); then whole sketches of
    the demo corpus and of long texts, compiled and numpy, equal in values and dtype."""
    from storyline.dedup import minhash as mh

    one, zero, out = np.ones(1, dtype=np.uint32), np.zeros(1, dtype=np.uint32), np.empty(1, dtype=np.uint32)
    for n in range(201):
        gram = ("é" * n).encode()[:n]
        native.minhash([gram], one, zero, out)
        assert out[0] == mh._fmix32(mh._sha1_values([gram]))[0], n
    long_texts = [replace(a, id=f"{a.id}-long", text=" ".join([a.text] * 3)) for a in demo[:10]]
    articles = demo + long_texts
    sketcher = mh.MinHashSketcher()
    compiled = sketcher(articles)
    monkeypatch.setattr(kernels, "native", None)
    python = sketcher(articles)
    assert sum(s is not None for s in compiled) > 90
    for a, b in zip(compiled, python):
        assert (a is None) == (b is None)
        if a is not None:
            assert a[1] == b[1] and a[0].dtype == b[0].dtype == np.uint32 and np.array_equal(a[0], b[0])
    with pytest.raises(TypeError):
        native.minhash(["not bytes"], one, zero, out)
    with pytest.raises(TypeError):
        native.minhash([b"x"], np.ones(1), zero, out)
