"""Editorial actions on stored stories: merge two stories, split an article out, pin a headline,
hide a story from readers, undo an action from the log.

Every action runs in one store transaction, is written to ``editorial_log`` and marks the
stories it touched dirty. These functions only persist the decision; the engine
(:meth:`storyline.engine.Engine.merge_stories` and friends, which the web calls) refreshes the
touched stories' summaries afterwards. The decisions are
kept in their own tables (``story_merges``, ``article_overrides``, ``pinned_headlines``) so that
later ingest and summary refreshes can respect them (see :func:`pinned_headline`,
``Store.overrides()`` and :func:`apply_pin`).
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Sequence

from ..errors import StorylineError
from ..models import Story, Summary
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


def log_action(store: SQLStore, action: str, payload: dict[str, Any]) -> int:
    """Record an editorial action that is not about one story (e.g. a registry change)."""
    with store.transaction():
        return _log(store, action, payload, _now())


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
        moved = [r[0] for r in store.db.execute("SELECT id FROM articles WHERE story_id = ?", (old,)).fetchall()]
        overrides = [r[0] for r in store.db.execute("SELECT article_id FROM article_overrides WHERE story_id = ?",
                                                    (old,)).fetchall()]
        redirected = [r[0] for r in store.db.execute("SELECT old_id FROM story_merges WHERE new_id = ?",
                                                     (old,)).fetchall()]
        pinned = pinned_headline(store, old)
        store.record_merge(old, new, now, "editor")
        store.db.execute("UPDATE article_overrides SET story_id = ? WHERE story_id = ?", (new, old))
        store.db.execute("DELETE FROM pinned_headlines WHERE story_id = ?", (old,))
        _mark_dirty(store, new, now)
        _log(store, "merge", {"story": old, "into": new, "note": note, "moved": moved, "overrides": overrides,
                              "redirected": redirected, "pinned": pinned}, now)
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
        previous = pinned_headline(store, target)
        _set_pin(store, target, headline, now)
        _mark_dirty(store, target, now)
        _log(store, "pin" if headline else "unpin", {"story": target, "headline": headline, "note": note,
                                                     "previous": previous}, now)
    return target


def _set_pin(store: SQLStore, story_id: str, headline: str | None, now: str) -> None:
    if headline:
        store.db.execute("INSERT INTO pinned_headlines (story_id, headline, at) VALUES (?, ?, ?) "
                         "ON CONFLICT (story_id) DO UPDATE SET headline = excluded.headline, at = excluded.at",
                         (story_id, headline, now))
    else:
        store.db.execute("DELETE FROM pinned_headlines WHERE story_id = ?", (story_id,))


def is_hidden(store: SQLStore, story_id: str) -> bool:
    return store.db.execute("SELECT 1 FROM hidden_stories WHERE story_id = ?", (story_id,)).fetchone() is not None


def hide_story(store: SQLStore, story_id: str, *, hidden: bool = True, note: str = "") -> str:
    """Hide a story from readers (every list, search, feed, related list and its own page), or,
    with ``hidden=False``, show it again; returns the story id. Nothing needs refreshing.

    Raises:
        EditorialError: the story is missing, or already in that state.
    """
    with store.transaction():
        target = _existing_story(store, story_id)
        if is_hidden(store, target) == hidden:
            raise EditorialError(f"story {target} is {'already hidden' if hidden else 'not hidden'}")
        now = _now()
        if hidden:
            store.db.execute("INSERT INTO hidden_stories (story_id, at, note) VALUES (?, ?, ?)", (target, now, note))
        else:
            store.db.execute("DELETE FROM hidden_stories WHERE story_id = ?", (target,))
        _log(store, "hide" if hidden else "unhide", {"story": target, "note": note}, now)
    return target


UNDOABLE = ("merge", "split", "pin", "unpin", "hide", "unhide", "source-add", "source-edit")


def _undo_merge(store: SQLStore, entry: dict[str, Any], now: str) -> list[str]:
    old, new = entry["story"], entry["into"]
    row = store.db.execute("SELECT new_id FROM story_merges WHERE old_id = ?", (old,)).fetchone()
    if row is None or store.resolve_story_id(old) != store.resolve_story_id(new):
        raise EditorialError(f"story {old} is no longer merged into {new}; nothing to undo")
    here = store.resolve_story_id(new)
    store.forget_merge(old)
    moved = [(old, a, here) for a in entry.get("moved", [])]
    if moved:
        store.db.executemany("UPDATE articles SET story_id = ? WHERE id = ? AND story_id = ?", moved)
    overrides = [(old, a) for a in entry.get("overrides", [])]
    if overrides:
        store.db.executemany("UPDATE article_overrides SET story_id = ? WHERE article_id = ?", overrides)
    redirected = [(old, s) for s in entry.get("redirected", [])]
    if redirected:
        store.db.executemany("UPDATE story_merges SET new_id = ? WHERE old_id = ?", redirected)
    _set_pin(store, old, entry.get("pinned"), now)
    _mark_dirty(store, old, now)
    _mark_dirty(store, here, now)
    return [old, here]


def _undo_split(store: SQLStore, entry: dict[str, Any], now: str) -> list[str]:
    source, target, moved = entry["story"], entry["new_story"], entry.get("moved", [])
    here, there = store.resolve_story_id(source), store.resolve_story_id(target)
    marks = ",".join("?" * len(moved))
    still = store.db.execute(f"SELECT count(*) FROM articles WHERE id IN ({marks}) AND story_id = ?",
                             (*moved, there)).fetchone()[0] if moved else 0
    if still != len(moved):
        raise EditorialError(f"the articles split into {target} have moved since; nothing to undo")
    if moved:
        store.db.executemany("UPDATE articles SET story_id = ? WHERE id = ?", [(here, a) for a in moved])
        store.db.executemany("DELETE FROM article_overrides WHERE article_id = ?", [(a,) for a in moved])
    _mark_dirty(store, here, now)
    _mark_dirty(store, there, now)
    return [here, there]


def undo(store: SQLStore, log_id: int, *, note: str = "") -> tuple[str, list[str]]:
    """Undo the editorial action logged as ``log_id`` (see :data:`UNDOABLE`); the undo is logged
    too. Returns the story to show afterwards (the one the action was about; empty for a registry
    change) and the stories whose summaries need refreshing
    (:meth:`storyline.engine.Engine.undo` refreshes them).

    Raises:
        EditorialError: no such entry, an action that cannot be undone, one already undone, or
            the story has changed so that undoing would lose later decisions.
    """
    from .. import sources as registry

    row = store.db.execute("SELECT id, action, payload FROM editorial_log WHERE id = ?", (log_id,)).fetchone()
    if row is None:
        raise EditorialError(f"no editorial action #{log_id}; see GET /api/editorial/log", not_found=True)
    action, entry = row["action"], json.loads(row["payload"])
    if action not in UNDOABLE:
        raise EditorialError(f"a {action!r} action cannot be undone (undoable: {', '.join(UNDOABLE)})")
    for r in store.db.execute("SELECT payload FROM editorial_log WHERE action = 'undo'").fetchall():
        if json.loads(r[0]).get("of") == log_id:
            raise EditorialError(f"editorial action #{log_id} is already undone")
    if action.startswith("source-"):
        outlet = entry["outlet"]
        with store.transaction():
            registry.remove_outlet(store, outlet["name"])
            if action == "source-edit":
                registry.put_outlet(store, registry.outlet_from(entry["before"]))
            _log(store, "undo", {"of": log_id, "undone": action, "note": note, "source": outlet["name"]}, _now())
        return "", []
    touched: list[str] = []
    with store.transaction():
        now = _now()
        if action == "merge":
            touched = _undo_merge(store, entry, now)
        elif action == "split":
            touched = _undo_split(store, entry, now)
        elif action in ("pin", "unpin"):
            story = _existing_story(store, entry["story"])
            _set_pin(store, story, entry.get("previous"), now)
            _mark_dirty(store, story, now)
            touched = [story]
        else:  # hide / unhide
            story = _existing_story(store, entry["story"])
            if action == "hide":
                store.db.execute("DELETE FROM hidden_stories WHERE story_id = ?", (story,))
            else:
                store.db.execute("INSERT INTO hidden_stories (story_id, at, note) VALUES (?, ?, ?) "
                                 "ON CONFLICT (story_id) DO UPDATE SET at = excluded.at, note = excluded.note",
                                 (story, now, note))
        _log(store, "undo", {"of": log_id, "undone": action, "story": entry.get("story"), "note": note}, now)
    return store.resolve_story_id(entry.get("story", "")), touched


# -- hooks for the store: how later ingest and refreshes respect editorial decisions ----------
# The pinned-headline rule, in one place: an editor's pin replaces the computed headline wherever
# a headline is shown or stored (summary refresh, story view-model, lists, feeds, CLI).
def pinned_headlines(store: SQLStore, story_ids: Sequence[str]) -> dict[str, str]:
    """Story id -> the headline an editor pinned on it, for the pinned ones among ``story_ids``."""
    ids = list(dict.fromkeys(story_ids))
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        out.update((str(r[0]), str(r[1])) for r in store.db.execute(
            f"SELECT story_id, headline FROM pinned_headlines WHERE story_id IN ({','.join('?' * len(chunk))})",
            chunk).fetchall())
    return out


def pinned_headline(store: SQLStore, story_id: str) -> str | None:
    """The headline an editor pinned on ``story_id``, or None."""
    return pinned_headlines(store, [story_id]).get(story_id)


def shown_headline(computed: str, pinned: str | None) -> str:
    """The headline readers see: the pinned one when there is a pin, else the computed one."""
    return computed if pinned is None else pinned


def apply_pin(store: SQLStore, story_id: str, summary: Summary) -> Summary:
    """``summary`` with its headline replaced by the pinned one, if any (sentences are kept)."""
    pinned = pinned_headline(store, story_id)
    summary.headline = shown_headline(summary.headline, pinned)
    if pinned is not None:
        summary.headline_article = None
    return summary


def record_headline(store: SQLStore, story: Story) -> None:
    """Add the story's headline to ``headline_history`` when it differs from the last one shown
    (inside the caller's transaction); a headline the summarizer superseded with a later
    development is recorded first, at its own report's time."""
    summary = story.summary
    if summary is None or not summary.headline:
        return
    last = store.db.execute("SELECT headline FROM headline_history WHERE story_id = ? ORDER BY at DESC LIMIT 1",
                            (story.id,)).fetchone()
    if last is not None and last[0] == summary.headline:
        return
    known = {r[0] for r in store.db.execute("SELECT headline FROM headline_history WHERE story_id = ?",
                                            (story.id,)).fetchall()}
    rows = []
    for headline, index in summary.superseded:
        art = story.articles[index] if index is not None and index < len(story.articles) else None
        when = art.published if art and art.published else story.first_seen
        if headline not in known and when is not None:
            rows.append((story.id, when.isoformat(), headline, art.id if art else "", "computed"))
    source = story.articles[summary.headline_article] if summary.headline_article is not None and \
        summary.headline_article < len(story.articles) else None
    if pinned_headline(store, story.id) is not None:
        reason, when = "pinned", datetime.now(UTC)
    elif summary.superseded:
        reason, when = "later development", source.published if source and source.published else story.last_seen
    else:
        reason, when = "computed", story.last_seen
    when = when or datetime.now(UTC)
    rows.append((story.id, when.isoformat(), summary.headline, source.id if source else "", reason))
    store.db.executemany("INSERT INTO headline_history (story_id, at, headline, article_id, reason) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (story_id, at, headline) DO NOTHING", rows)


def headline_history(store: SQLStore, story_id: str) -> list[dict[str, Any]]:
    """The headlines a story has shown, oldest first, with the report each came from."""
    rows = store.db.execute(
        "SELECT h.at, h.headline, h.article_id, h.reason, a.source FROM headline_history h "
        "LEFT JOIN articles a ON a.id = h.article_id WHERE h.story_id = ? ORDER BY h.at, h.headline", (story_id,),
    ).fetchall()
    return [{"at": r[0], "headline": r[1], "article_id": r[2], "reason": r[3], "outlet": r[4] or ""} for r in rows]


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
    "UNDOABLE",
    "EditorialError",
    "apply_pin",
    "editorial_log",
    "headline_history",
    "hide_story",
    "is_hidden",
    "log_action",
    "merge_stories",
    "pin_headline",
    "pinned_headline",
    "pinned_headlines",
    "shown_headline",
    "record_headline",
    "split_article",
    "undo",
]
