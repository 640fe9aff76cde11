"""The deduplicator's rows: the stored MinHash signatures of originals, and the look-ups the
engine's deduplicator makes through the store (exact copies by content hash, the horizon's
signatures, its clock). A mixin of :class:`storyline.store.base.SQLStore`, so both backends share
it; it knows nothing of how a signature is made (the engine keeps the key of the sketcher that made
them, see :mod:`storyline.dedup.stored`)."""
from __future__ import annotations

from typing import Any, Sequence


class SignatureRows:
    """The deduplicator's queries. ``db`` is the backend's connection (see ``SQLStore``)."""

    db: Any

    def signatures(self) -> dict[str, bytes]:
        return {r[0]: bytes(r[1]) for r in self.db.execute("SELECT article_id, signature FROM minhash_signatures")}

    def canonicals_by_hash(self, hashes: Sequence[str]) -> dict[str, str]:
        """Content hash -> the canonical id of the earliest stored article with it, for the given
        hashes only (the ``content_hash`` index): the deduplicator's exact copies, however old."""
        out: dict[str, str] = {}
        hashes = list(hashes)
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            for r in self.db.execute(f"SELECT content_hash, canonical_id FROM articles WHERE content_hash IN "
                                     f"({','.join('?' * len(chunk))}) ORDER BY seq", chunk):
                out.setdefault(r[0], r[1])
        return out

    def recent_signatures(self, since: str | None, undated: int | None) -> list[tuple[str, str | None, str | None, bytes]]:
        """(id, published, fetched_at, MinHash signature) of the originals dated (published, else
        fetched) at or after ``since`` (every dated one when None), and of the ``undated`` latest
        undated ones (all when None), in storage order: the deduplicator's horizon, read through
        ``articles_dedup_recent`` (migration 0050). ``since`` compares the stored text, so the
        caller leaves a margin for UTC offsets and decides exactly."""
        cols = ("SELECT a.seq, a.id, a.published, a.fetched_at, s.signature FROM articles a "
                "JOIN minhash_signatures s ON s.article_id = a.id WHERE a.canonical_id = a.id AND ")
        dated = (self.db.execute(cols + "coalesce(a.published, a.fetched_at) >= ?", (since,)) if since is not None
                 else self.db.execute(cols + "coalesce(a.published, a.fetched_at) IS NOT NULL")).fetchall()
        order = "ORDER BY a.seq DESC" + ("" if undated is None else f" LIMIT {int(undated)}")
        rest = self.db.execute(cols + f"coalesce(a.published, a.fetched_at) IS NULL {order}").fetchall()
        rows = sorted(list(dated) + list(rest), key=lambda r: r[0])
        return [(r[1], r[2], r[3], bytes(r[4])) for r in rows]

    def newest_original_date(self) -> str | None:
        """The greatest stored date (published, else fetched) of an original, as stored text
        (an index read; the deduplicator's clock for a store saved before it kept its own)."""
        row = self.db.execute("SELECT max(coalesce(published, fetched_at)) FROM articles WHERE canonical_id = id").fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def signed_texts(self, *, after_seq: int = 0, limit: int = 1000,
                     newest: bool = False) -> list[tuple[int, str, str, str, bytes]]:
        """(seq, id, title, text, signature) of up to ``limit`` originals that have a stored
        signature, in storage order after ``after_seq`` (or the ``newest`` ones, latest first):
        what a signature is made from, read in pages by the key."""
        order = "a.seq DESC" if newest else "a.seq"
        rows = self.db.execute(
            "SELECT a.seq, a.id, a.title, a.text, s.signature FROM articles a JOIN minhash_signatures s "
            f"ON s.article_id = a.id WHERE a.seq > ? ORDER BY {order} LIMIT {int(limit)}", (after_seq,)).fetchall()
        return [(int(r[0]), r[1], r[2], r[3], bytes(r[4])) for r in rows]

    def replace_signatures(self, rows: Sequence[tuple[str, bytes | None]]) -> None:
        """Put each (article id, signature) in place of the stored one, inside the caller's
        transaction; None deletes the row (an original now too short to sketch)."""
        kept = [(sig, art) for art, sig in rows if sig is not None]
        gone = [(art,) for art, sig in rows if sig is None]
        if kept:
            self.db.executemany("UPDATE minhash_signatures SET signature = ? WHERE article_id = ?", kept)
        if gone:
            self.db.executemany("DELETE FROM minhash_signatures WHERE article_id = ?", gone)


__all__ = ["SignatureRows"]
