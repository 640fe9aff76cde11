import os
import subprocess
import sys

import numpy as np

from conftest import DEMO, ROOT
from storyline.dedup import MinHashDeduplicator, NoDedup
from storyline.models import Article

REPORT = (
    "Officials closed the Tellford Bridge on Tuesday after a cargo ship struck one of its piers, "
    "the city transport department said. Engineers will inspect the damage for at least two weeks, "
    "and ferries will run every twenty minutes until then."
)


def test_exact_and_light_edit_copies_collapse_to_first():
    arts = [
        Article("a", "Bridge closed after ship strike", REPORT),
        Article("b", "Bridge closed after ship strike", REPORT),
        Article("c", "Bridge closed after ship strike", "(Valley Wire) — " + REPORT + " Subscribe for more news."),
        Article("d", "Council debates budget", "The council spent four hours on the library budget and adjourned without a vote."),
    ]
    result = MinHashDeduplicator().partial_fit(arts)
    assert result.canonical == ["a", "a", "a", "d"]
    assert result.reprints() == {"a": ["b", "c"]}


def test_different_reports_of_one_event_are_not_copies():
    other = ("A freighter hit a pier of the Tellford Bridge, and the city shut the span to traffic. "
             "Inspectors expect repairs to take weeks; commuters are told to use the ferry.")
    result = MinHashDeduplicator().partial_fit([Article("a", "", REPORT), Article("b", "", other)])
    assert result.canonical == ["a", "b"]


def test_incremental_calls_and_restore_match_one_call():
    first = MinHashDeduplicator()
    first.partial_fit([Article("a", "t", REPORT)])
    restored = MinHashDeduplicator()
    restored.restore({"a": "a"}, {}, {"a": first.signature("a")})
    copy = Article("b", "t", REPORT + " Subscribe to the Gazette.")
    assert first.partial_fit([copy]).canonical == ["a"]
    assert restored.partial_fit([Article("b", "t", REPORT + " Subscribe to the Gazette.")]).canonical == ["a"]


def test_headlines_collapse_only_when_identical():
    arts = [Article("a", "USA orders personnel to leave Iraq"), Article("b", "USA orders personnel to leave Iraq"),
            Article("c", "USA orders personnel to leave Iran")]
    assert MinHashDeduplicator().partial_fit(arts).canonical == ["a", "a", "c"]


def test_no_dedup_is_identity():
    assert NoDedup().partial_fit([Article("a", "x"), Article("b", "x")]).canonical == ["a", "b"]


def test_the_band_layout_is_datasketch_s():
    """The (b, r) storyline computes is the one datasketch's MinHashLSH picks, over thresholds and
    sizes, and a layout of one band is refused as datasketch refuses it."""
    from datasketch import MinHashLSH

    from storyline.dedup.minhash import band_layout

    def theirs(threshold: float, num_perm: int) -> tuple[int, int] | str:
        try:
            lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        except ValueError:
            return "refused"
        return lsh.b, lsh.r

    def ours(threshold: float, num_perm: int) -> tuple[int, int] | str:
        try:
            return band_layout(threshold, num_perm)
        except ValueError as exc:
            assert "gives one band" in str(exc)
            return "refused"

    cases = [(t / 20, n) for n in (8, 32, 64, 128, 256) for t in range(1, 20)]
    assert [ours(*c) for c in cases] == [theirs(*c) for c in cases]
    assert "refused" in [ours(*c) for c in cases] and band_layout(0.5, 128) == (25, 5)


def test_storyline_runs_without_importing_datasketch(tmp_path):
    """The scheme is storyline's own: an ingest of the demo never imports datasketch (whose
    package import brings in scipy.integrate, half of a command's start)."""
    code = ("import sys; from storyline.cli import main; code = main(['ingest', sys.argv[1], '--data-dir', sys.argv[2]]); "
            "assert code == 0, code; print(sorted(m for m in sys.modules if m.split('.')[0] == 'datasketch' "
            "or m.startswith('scipy.integrate')))")
    run = subprocess.run([sys.executable, "-c", code, str(DEMO), str(tmp_path / "d")], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), STORYLINE_WORKERS="2"), timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_a_batch_of_sketches_is_datasketch_s_update_batch_of_each(kernel_path):
    """The sketcher hashes and permutes a batch's trigrams together (or each article's in the
    compiled loop); each sketch equals a datasketch MinHash updated with that article's trigrams
    (hash values, dtype, size), also across the chunks a long batch is cut into."""
    from datasketch import MinHash

    from storyline.dedup import minhash as mh

    words = "harbor council vote bridge repair storm tuesday mayor budget river ferry school".split()
    arts = [Article(id=str(i), title=f"Report {i}", text=" ".join(words[(i * j) % 12] for j in range(3 + i * 7)))
            for i in range(40)]
    arts.append(Article(id="short", title="Too short", text="two words"))
    sketcher = mh.MinHashSketcher(num_perm=64, seed=3)
    for rows in (mh._CHUNK_ROWS, 50):
        mh._CHUNK_ROWS, saved = rows, mh._CHUNK_ROWS
        try:
            batch = sketcher(arts)
        finally:
            mh._CHUNK_ROWS = saved
        for art, got in zip(arts, batch):
            grams = mh.shingles(art.body)
            if len(grams) < mh._MIN_SHINGLES:
                assert got is None
                continue
            want = MinHash(num_perm=64, seed=3)
            want.update_batch(list(grams))
            assert got[1] == len(grams) and got[0].dtype == want.hashvalues.dtype
            assert np.array_equal(got[0], want.hashvalues) and np.array_equal(got[0], sketcher.sketch(art)[0])


def test_an_article_s_shingles_are_its_body_s_also_with_shared_tokens():
    from storyline.dedup.minhash import article_shingles, shingles
    from storyline.text.tokens import shared_tokens

    arts = [Article(id="1", title="The U.S.", text=".5 percent rise in rock-and-roll sales, O’Neill's label said"),
            Article(id="2", title="", text="Only a text of eight or more words here"),
            Article(id="3", title="  Only a title'  ", text=""),
            Article(id="4", title="A-", text="-B c d"), Article(id="5", title="", text="")]
    for art in arts:
        assert article_shingles(art) == shingles(art.body)
        with shared_tokens():
            assert article_shingles(art) == shingles(art.body) == article_shingles(art)
