"""Editorial actions on stored stories: merge two stories, split an article out, pin a headline.

Every action runs in one store transaction, is written to ``editorial_log`` and marks the
stories it touched dirty. These functions only persist the decision; the engine
(:meth:`storyline.engine.Engine.merge_stories` and friends, which the web calls) refreshes the
touched stories' summaries afterwards. The decisions are
kept in their own tables (``story_merges``, ``article_overrides``, ``pinned_headlines``) so that
later ingest and summary refreshes can respect them (see :func:`pinned_headline`,
:func:`story_override` and :func:`apply_pin`).
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from ..errors import StorylineError
from ..models import Summary
from .base import SQLStore


MAX_HEADLINE_CHARS = 300


class EditorialError(StorylineError):
    """An editorial action cannot be done; ``not_found`` tells a missing story from a bad request."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


def story_id_for(article_id: str) -> str:
    """A story's id from the article that opens it (the clusterer's scheme, ``cluster.base``)."""
    return "s" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:12]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _log(store: SQLStore, action: str, payload: dict[str, Any], now: str) -> int:
    row = store.db.execute(
        "INSERT INTO editorial_log (at, action, payload) VALUES (?, ?, ?) RETURNING id",
        (now, action, json.dumps(payload, ensure_ascii=False, sort_keys=True)),
    ).fetchone()
    return int(row[0] or 0)


def _existing_story(store: SQLStore, story_id: str) -> str:
    resolved = store.resolve_story_id(story_id)
    row = store.db.execute("SELECT 1 FROM articles WHERE story_id = ? LIMIT 1", (resolved,)).fetchone()
    if row is None:
        raise EditorialError(f"no story {story_id!r}; list stories with GET /api/stories", not_found=True)
    return resolved


def _mark_dirty(store: SQLStore, story_id: str, now: str) -> None:
    store.touch_story(story_id, now)


def merge_stories(store: SQLStore, story_id: str, into: str, *, note: str = "") -> str:
    """Fold ``story_id`` into ``into``; the old id redirects to ``into`` from now on.

    Args:
        store: the store to change.
        story_id: the story that disappears (merged-away ids resolve first).
        into: the story that absorbs it.
        note: free text kept in the editorial log.

    Returns:
        The id of the absorbing story.

    Raises:
        EditorialError: a story is missing, or both ids name the same story.
    """
    with store.transaction():
        old, new = _existing_story(store, story_id), _existing_story(store, into)
        if old == new:
            raise EditorialError(f"{story_id!r} and {into!r} are already the same story ({new})")
        now = _now()
        store.record_merge(old, new, now, "editor")
        store.db.execute("UPDATE article_overrides SET story_id = ? WHERE story_id = ?", (new, old))
        store.db.execute("DELETE FROM pinned_headlines WHERE story_id = ?", (old,))
        _mark_dirty(store, new, now)
        _log(store, "merge", {"story": old, "into": new, "note": note}, now)
    return new


def _split_target(store: SQLStore, article_id: str) -> str:
    base = story_id_for(f"{article_id}#split")
    candidate, n = base, 1
    while store.db.execute(
        "SELECT 1 FROM articles WHERE story_id = ? UNION ALL SELECT 1 FROM story_merges WHERE old_id = ?",
        (candidate, candidate),
    ).fetchone():
        n += 1
        candidate = story_id_for(f"{article_id}#split{n}")
    return candidate


def split_article(store: SQLStore, story_id: str, article_id: str, *, note: str = "") -> str:
    """Move an original article (and its reprints) out of a story into a new story of its own.

    Args:
        store: the store to change.
        story_id: the story the article is in now.
        article_id: an original (not a reprint) article of that story.
        note: free text kept in the editorial log.

    Returns:
        The id of the new story.

    Raises:
        EditorialError: the story or article is missing, the article is a reprint, or it is the
            story's only original report.
    """
    with store.transaction():
        source = _existing_story(store, story_id)
        row = store.db.execute("SELECT canonical_id, story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None or row["story_id"] != source:
            raise EditorialError(f"article {article_id!r} is not in story {source}", not_found=True)
        if row["canonical_id"] != article_id:
            raise EditorialError(f"{article_id!r} is a reprint of {row['canonical_id']!r}; split that original instead")
        originals = store.db.execute(
            "SELECT count(*) FROM articles WHERE story_id = ? AND canonical_id = id", (source,)
        ).fetchone()[0]
        if originals < 2:
            raise EditorialError(f"{article_id!r} is the only report in story {source}; nothing to split")
        now, target = _now(), _split_target(store, article_id)
        moved = [r[0] for r in store.db.execute(
            "SELECT id FROM articles WHERE story_id = ? AND (id = ? OR canonical_id = ?)", (source, article_id, article_id))]
        store.db.executemany("UPDATE articles SET story_id = ? WHERE id = ?", [(target, a) for a in moved])
        store.db.executemany(
            "INSERT INTO article_overrides (article_id, story_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET story_id = excluded.story_id, at = excluded.at",
            [(a, target, now) for a in moved],
        )
        _mark_dirty(store, source, now)
        _mark_dirty(store, target, now)
        _log(store, "split", {"story": source, "article": article_id, "moved": moved, "new_story": target,
                              "note": note}, now)
    return target


def pin_headline(store: SQLStore, story_id: str, headline: str, *, note: str = "") -> str:
    """Pin ``headline`` on a story (an empty headline unpins it); returns the story id.

    Raises:
        EditorialError: the story is missing or the headline is too long.
    """
    headline = " ".join(headline.split())
    if len(headline) > MAX_HEADLINE_CHARS:
        raise EditorialError(f"a headline has at most {MAX_HEADLINE_CHARS} characters")
    with store.transaction():
        target = _existing_story(store, story_id)
        now = _now()
        if headline:
            store.db.execute("INSERT INTO pinned_headlines (story_id, headline, at) VALUES (?, ?, ?) "
                             "ON CONFLICT (story_id) DO UPDATE SET headline = excluded.headline, at = excluded.at",
                             (target, headline, now))
        else:
            store.db.execute("DELETE FROM pinned_headlines WHERE story_id = ?", (target,))
        _mark_dirty(store, target, now)
        _log(store, "pin" if headline else "unpin", {"story": target, "headline": headline, "note": note}, now)
    return target


# -- hooks for the store: how later ingest and refreshes respect editorial decisions ----------
def pinned_headline(store: SQLStore, story_id: str) -> str | None:
    """The headline an editor pinned on ``story_id``, or None."""
    row = store.db.execute("SELECT headline FROM pinned_headlines WHERE story_id = ?", (story_id,)).fetchone()
    return None if row is None else str(row[0])


def apply_pin(store: SQLStore, story_id: str, summary: Summary) -> Summary:
    """``summary`` with its headline replaced by the pinned one, if any (sentences are kept)."""
    headline = pinned_headline(store, story_id)
    if headline is not None:
        summary.headline = headline
        summary.headline_article = None
    return summary


def story_override(store: SQLStore, article_id: str) -> str | None:
    """The story an editor put ``article_id`` in (resolved through later merges), or None."""
    row = store.db.execute("SELECT story_id FROM article_overrides WHERE article_id = ?", (article_id,)).fetchone()
    return None if row is None else store.resolve_story_id(str(row[0]))


def editorial_log(store: SQLStore, *, limit: int = 100, story_id: str | None = None) -> list[dict[str, Any]]:
    """Recent editorial actions, newest first (optionally only those naming ``story_id``)."""
    if story_id:
        pattern = "%" + story_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = store.db.execute("SELECT id, at, action, payload FROM editorial_log WHERE payload LIKE ? ESCAPE '\\' "
                                "ORDER BY id DESC", (pattern,)).fetchall()
    else:
        rows = store.db.execute("SELECT id, at, action, payload FROM editorial_log ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
    out = []
    for r in rows:
        payload = json.loads(r["payload"])
        if story_id and story_id not in (payload.get("story"), payload.get("into"), payload.get("new_story")):
            continue
        out.append({"id": r["id"], "at": r["at"], "action": r["action"], **payload})
        if len(out) >= limit:
            break
    return out


__all__ = [
    "MAX_HEADLINE_CHARS",
    "EditorialError",
    "apply_pin",
    "editorial_log",
    "merge_stories",
    "pin_headline",
    "pinned_headline",
    "split_article",
    "story_override",
]
