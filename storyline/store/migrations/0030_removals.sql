-- storyline schema 30: what `storyline forget` removed, when and why (one row per article removed).
-- The text is gone; the row keeps enough to answer "where did that article go" and lets the
-- feed watcher leave a forgotten item out when its feed still lists it.
CREATE TABLE removals (
    id          INTEGER PRIMARY KEY,      -- given by the writer: max(id) + 1 (portable, no AUTOINCREMENT)
    removed_at  TEXT NOT NULL,
    article_id  TEXT NOT NULL,
    url         TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    origin      TEXT NOT NULL DEFAULT '',
    story_id    TEXT NOT NULL DEFAULT '',
    selector    TEXT NOT NULL,            -- what was asked: id=..., outlet=..., feed=...
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX removals_article ON removals(article_id);
