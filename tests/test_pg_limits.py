"""What the ingest boundary accepts, both backends store. PostgreSQL's search vector holds at most
1 MB, and the boundary lets a text reach 2,000,000 characters: before migration 0063 an article of
many distinct words failed its insert ("string is too long for tsvector") and took the whole
ingest with it, the batch's other articles included (session 36)."""
from __future__ import annotations

import random
from datetime import UTC, datetime

from storyline.engine import open_engine
from storyline.ingest.boundary import MAX_CHARS
from storyline.models import Article
from storyline.store.queries import search_articles


def _long_register() -> str:
    """A text at the boundary's limit made of distinct words: the biggest vector a text can need."""
    rng = random.Random(63)
    words, size = [], 0
    while size < MAX_CHARS["text"] - 40:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 11)))
        words.append(word)
        size += len(word) + 1
    return ("The Quendale council published its register on Monday. " + " ".join(words))[: MAX_CHARS["text"]]


def test_an_article_of_two_million_characters_is_stored_and_searchable_with_its_batch(store_settings) -> None:
    when = datetime(2024, 5, 1, 9, tzinfo=UTC)
    register = Article(id="register", title="Quendale council publishes its register", text=_long_register(),
                       source="Quendale Gazette", published=when, language="en")
    quay = Article(id="quay", title="Ostrand harbour opens a new quay",
                   text="The Ostrand harbour opened a new quay on Monday, the port authority said.",
                   source="Port News", published=when, language="en")
    assert len(register.text) > 1_900_000
    engine = open_engine(store_settings)
    try:
        engine.add_articles([register, quay])
        stored = {r[0]: r[1] for r in engine.db.execute("SELECT id, length(text) FROM articles")}
        assert sorted(stored) == ["quay", "register"] and stored["register"] == len(register.text)
        for word, found in (("quay", "quay"), ("register", "register"), ("Quendale", "register")):
            rows, total = search_articles(engine.store, word)
            assert total >= 1 and found in {r["id"] for r in rows}, word
    finally:
        engine.close()
