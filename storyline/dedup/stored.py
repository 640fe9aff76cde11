"""The stored MinHash signatures, and the sketcher that made them.

A store keeps each original's MinHash signature, so a later process finds near copies of what is
already stored without sketching it again. A signature only compares with one made the same way:
the same words and shingles, hash scheme and permutations, the same number of permutations and
seed. datasketch 2.0 changed its default scheme (storyline then made its signatures with
datasketch; it now makes that scheme itself, :mod:`.minhash`), and the values carry no trace of
the scheme that made them. After such a change every stored signature stops matching new ones,
and near copies of stored articles are missed, with no error.

So the store keeps the key of the sketcher that made its signatures (:meth:`MinHashSketcher.key`,
in the checkpoint ``dedup:sketcher``). A write session that finds another key makes the stored
signatures again from the stored texts before it decides anything. A store saved before it kept
the key has its newest signatures checked against the texts instead. Making them again changes
no stored decision: which article copies which stays as it was decided.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from ..models import Article
from .minhash import MinHashSketcher, sketch_blob

SKETCHER_KEY = "dedup:sketcher"
_SAMPLE = 16  # the newest signatures checked in a store saved before it kept the key
_PAGE = 2000  # signatures made again per read and per transaction
log = logging.getLogger("storyline.dedup")


def _blobs(sketcher: MinHashSketcher, rows: list[tuple[int, str, str, str, bytes]]) -> list[bytes | None]:
    """The signatures ``sketcher`` makes of (seq, id, title, text, signature) rows' texts."""
    return [sketch_blob(s) for s in sketcher([Article(r[1], r[2], r[3]) for r in rows])]


def check_signatures(store: Any, sketcher: MinHashSketcher) -> int:
    """Make the store's signatures ``sketcher``'s, if they are not; the number made again.

    Call it inside the store's writer lock, before the stored signatures are read."""
    key = sketcher.key()
    saved = store.get_checkpoint(SKETCHER_KEY)
    if saved == key:
        return 0
    if saved is None:
        sample = store.signed_texts(limit=_SAMPLE, newest=True)
        differ = sum(made != r[4] for made, r in zip(_blobs(sketcher, sample), sample))
        if not differ:
            store.set_checkpoint(SKETCHER_KEY, key)
            return 0
        why = f"{differ} of the newest {len(sample)} differ from what this storyline makes of their texts"
    else:
        why = f"they were made by {saved}, this storyline makes {key}"
    return resketch(store, sketcher, why, key)


def resketch(store: Any, sketcher: MinHashSketcher, why: str, key: str) -> int:
    """Make every stored signature again from its article's stored text, a page per
    transaction, then record ``key`` (``sketcher.key()``, computed once by the caller); the number
    made. Stopped part way, the key is not recorded, so the next write session does it all again
    (it gives the same values)."""
    log.warning("the stored MinHash signatures do not compare with new ones (%s): making them again "
                "from the stored texts", why)
    started, done, after = time.monotonic(), 0, 0
    while True:
        rows = store.signed_texts(after_seq=after, limit=_PAGE)
        if not rows:
            break
        with store.transaction():
            store.replace_signatures([(r[1], blob) for r, blob in zip(rows, _blobs(sketcher, rows))])
        done, after = done + len(rows), rows[-1][0]
        if done % 100_000 < _PAGE:
            log.info("signatures made again", extra={"items": done})
    store.set_checkpoint(SKETCHER_KEY, key)
    log.warning("made %s stored signature%s again in %.1f s", f"{done:,}", "" if done == 1 else "s",
                time.monotonic() - started)
    return done


__all__ = ["SKETCHER_KEY", "check_signatures", "resketch"]
