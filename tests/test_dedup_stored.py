"""Stored MinHash signatures made another way than today's (storyline.dedup.stored).

A store's signatures compare only with new ones made the same way. A store whose signatures came
from datasketch before 2.0 (its "legacy" scheme, the default until then), or from a sketcher with
another seed, used to miss every near copy of its articles, with no error. Real SQLite and
PostgreSQL stores, the real engine and the command line."""
from __future__ import annotations

from datetime import timedelta

from datasketch import MinHash

from conftest import run_cli, store_args
from test_dedup_horizon import EDITED, REPORT, T0
from storyline.dedup import stored
from storyline.dedup.minhash import MinHashSketcher, article_shingles, sketch_blob
from storyline.dedup.stored import SKETCHER_KEY, check_signatures
from storyline.engine import Engine
from storyline.models import Article
from storyline.store import open_store

ORIGINAL = Article("a", "Bridge closed", REPORT, published=T0, source="Wire")
NEAR_COPY = Article("b", "Bridge closed", EDITED, published=T0 + timedelta(hours=2), source="Star")


def legacy_blob(article: Article) -> bytes:
    """What a store written with datasketch before 2.0 holds for ``article``."""
    grams = article_shingles(article)
    m = MinHash(num_perm=128, seed=1, scheme="legacy")
    m.update_batch(list(grams))
    blob = sketch_blob((m.hashvalues, len(grams)))
    assert blob is not None
    return blob


def stored_signature(store, article_id: str) -> bytes | None:  # type: ignore[no-untyped-def]
    row = store.db.execute("SELECT signature FROM minhash_signatures WHERE article_id = ?", (article_id,)).fetchone()
    return None if row is None else bytes(row[0])


def canonical_of(store, article_id: str) -> str:  # type: ignore[no-untyped-def]
    return str(store.db.execute("SELECT canonical_id FROM articles WHERE id = ?", (article_id,)).fetchone()[0])


def store_with(settings, signature: bytes, key: str | None):  # type: ignore[no-untyped-def]
    """A store holding ORIGINAL with ``signature`` stored for it and ``key`` as its sketcher's key
    (None: a store saved before stores kept the key)."""
    Engine(open_store(settings)).add_articles([ORIGINAL], refresh=False)
    store = open_store(settings)
    with store.transaction():
        store.replace_signatures([("a", signature)])
        store.put_checkpoint(SKETCHER_KEY, key)
    return store


def test_the_key_names_how_signatures_are_made():
    assert MinHashSketcher().key() == MinHashSketcher().key()
    assert MinHashSketcher(seed=2).key() != MinHashSketcher().key()
    assert MinHashSketcher(num_perm=64).key() != MinHashSketcher().key()


def test_a_near_copy_of_an_article_sketched_by_datasketch_before_2_is_found(store_settings):
    settings = store_settings.with_(workers=0)
    today = sketch_blob(MinHashSketcher().sketch(ORIGINAL))
    assert legacy_blob(ORIGINAL) != today, "the two schemes give other values for the same text"
    store_with(settings, legacy_blob(ORIGINAL), None)
    engine = Engine(open_store(settings))
    engine.add_articles([NEAR_COPY], refresh=False)
    assert canonical_of(engine.store, "b") == "a", "a near copy of the stored original"
    assert stored_signature(engine.store, "a") == today, "made again from the stored text"
    assert engine.store.get_checkpoint(SKETCHER_KEY) == MinHashSketcher().key()


def test_signatures_under_another_key_are_made_again_and_those_under_this_key_are_trusted(store_settings):
    other = MinHashSketcher(seed=7)
    store = store_with(store_settings, sketch_blob(other.sketch(ORIGINAL)), other.key())
    assert check_signatures(store, MinHashSketcher()) == 1
    assert stored_signature(store, "a") == sketch_blob(MinHashSketcher().sketch(ORIGINAL))
    assert check_signatures(store, MinHashSketcher()) == 0, "now this sketcher's: nothing to do"
    with store.transaction():  # under this key the values are not read again: a check costs one key
        store.replace_signatures([("a", legacy_blob(ORIGINAL))])
    assert check_signatures(store, MinHashSketcher()) == 0
    assert stored_signature(store, "a") == legacy_blob(ORIGINAL)


def test_a_store_saved_before_the_key_with_todays_signatures_only_gets_the_key(store_settings):
    store = store_with(store_settings, sketch_blob(MinHashSketcher().sketch(ORIGINAL)), None)
    assert check_signatures(store, MinHashSketcher()) == 0
    assert store.get_checkpoint(SKETCHER_KEY) == MinHashSketcher().key()


def test_every_page_is_made_again_and_a_short_text_loses_its_row(store_settings, monkeypatch):
    monkeypatch.setattr(stored, "_PAGE", 2)
    settings = store_settings.with_(workers=0)
    words = lambda i: " ".join(f"w{i}x{k}" for k in range(30))  # noqa: E731
    others = [Article(f"o{i}", f"Council item {i}", f"The council discussed item {i}: {words(i)}.",
                      published=T0 + timedelta(days=i)) for i in range(5)]
    Engine(open_store(settings)).add_articles([ORIGINAL, *others], refresh=False)
    store = open_store(settings)
    ids = ["a"] + [o.id for o in others]
    with store.transaction():
        store.replace_signatures([(i, legacy_blob(a)) for i, a in zip(ids, [ORIGINAL, *others])])
        store.put_checkpoint(SKETCHER_KEY, "minhash/128/1/0000000000000000")
    assert check_signatures(store, MinHashSketcher()) == 6
    for i, article in zip(ids, [ORIGINAL, *others]):
        assert stored_signature(store, i) == sketch_blob(MinHashSketcher().sketch(article)), i
    with store.transaction():
        store.replace_signatures([("o1", None)])
    assert stored_signature(store, "o1") is None and stored_signature(store, "o2") is not None


def test_the_command_line_says_it_makes_them_again(store_settings, tmp_path):
    store_with(store_settings.with_(workers=0), legacy_blob(ORIGINAL), "minhash/128/1/0000000000000000")
    feed = tmp_path / "copy.jsonl"
    feed.write_text('{"id": "b", "title": "Bridge closed", "text": "%s", "source": "Star", '
                    '"published": "2024-03-01T11:00:00+00:00"}\n' % EDITED.replace('"', '\\"'))
    run = run_cli("ingest", str(feed), *store_args(store_settings))
    assert run.returncode == 0, run.stderr
    assert "making them again from the stored texts" in run.stderr
    assert "made 1 stored signature again" in run.stderr
    row = open_store(store_settings).db.execute("SELECT canonical_id FROM articles WHERE source = 'Star'").fetchone()
    assert row[0] == "a", "the file's article is a near copy of the stored original"
