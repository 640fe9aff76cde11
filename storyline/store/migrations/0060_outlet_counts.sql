-- storyline schema 60 (reader at scale, issue 20): each outlet's article and original-report
-- counts and its latest publication time, kept as articles are stored and removed
-- (SQLStore.insert_articles, remove_articles), so /outlets and an outlet's page read one row per
-- outlet instead of every article (95 s at 1M articles on a cold cache). Filled here once from
-- the articles a store already holds.
CREATE TABLE outlet_counts (
    source         TEXT PRIMARY KEY,
    articles       INTEGER NOT NULL DEFAULT 0,
    originals      INTEGER NOT NULL DEFAULT 0,
    last_published TEXT
);
INSERT INTO outlet_counts (source, articles, originals, last_published)
SELECT source, count(*), sum(CASE WHEN canonical_id = id THEN 1 ELSE 0 END), max(published)
FROM articles WHERE source <> '' GROUP BY source;
