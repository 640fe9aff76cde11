-- storyline schema 63 (PostgreSQL, issue 20). A tsvector holds at most 1 MB, and migration 0004's
-- search vector took an article's whole text: an article of a few hundred thousand distinct
-- words (the boundary lets texts reach 2,000,000 characters) failed the insert with "string is too
-- long for tsvector", and with it the whole ingest, stored articles of that batch included. The
-- vector now takes the text's first 150,000 characters: a lexeme costs at most 13 bytes for every
-- two characters of text (a one-character word of 4 UTF-8 bytes, its entry, one position and
-- padding), so title and text stay under 1 MB whatever they hold. Search on PostgreSQL finds words
-- in those first 150,000 characters (about 25,000 words; SQLite's full-text index takes all).
-- Rebuilding the column reads every article once.
-- begin postgresql
DROP INDEX articles_search_vector;
ALTER TABLE articles DROP COLUMN search;
ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', left(text, 150000)), 'D')) STORED;
CREATE INDEX articles_search_vector ON articles USING gin (search);
-- end postgresql
