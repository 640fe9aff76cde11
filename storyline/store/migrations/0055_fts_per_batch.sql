-- storyline schema 55 (ingest at scale, issue 20): SQLite's full-text index takes each batch's
-- articles in one statement (SQLiteStore.insert_articles: INSERT INTO articles_fts ... SELECT the
-- rows just inserted) instead of a trigger per row: the same index entries (every term instance,
-- the same bm25 ranks) in half the time. PostgreSQL's index is an expression index: nothing here.
-- begin sqlite
DROP TRIGGER IF EXISTS articles_fts_insert;
-- end sqlite
