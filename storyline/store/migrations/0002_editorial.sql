-- storyline schema v2: editorial decisions that later clustering and summaries must respect.
-- A pinned headline replaces the computed one until it is unpinned.
CREATE TABLE pinned_headlines (
    story_id TEXT PRIMARY KEY,
    headline TEXT NOT NULL,
    at       TEXT NOT NULL
);

-- An article an editor moved into a story (a split) stays there, whatever the clusterer thinks.
CREATE TABLE article_overrides (
    article_id TEXT PRIMARY KEY,
    story_id   TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX article_overrides_story ON article_overrides(story_id);
