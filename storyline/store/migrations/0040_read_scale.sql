-- storyline schema 40 (reader at scale, issue 20): pages cost what they show.
-- Where merged stories went: story_merges is keyed on old_id (a redirect is one look-up); the
-- history of a story (what was merged into it) and re-pointing a chain look up new_id.
CREATE INDEX story_merges_new ON story_merges(new_id);

-- Related stories, computed when a story's vector changes (storyline.related.refresh), both
-- directions stored: a page reads its own rows, never the other stories' vectors.
CREATE TABLE story_related (
    story_id   TEXT NOT NULL,
    related_id TEXT NOT NULL,
    score      REAL NOT NULL,
    PRIMARY KEY (story_id, related_id)
);
CREATE INDEX story_related_other ON story_related(related_id);

-- The story_vectors.updated_at its related rows were computed for (NULL: not computed yet,
-- e.g. a store made before this migration; the page then compares vectors as before).
ALTER TABLE story_vectors ADD COLUMN related_at TEXT;
