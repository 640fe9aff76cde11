-- The clusterer's saved state covers articles up to upto_seq; later ones are replayed on load.
ALTER TABLE engine_state ADD COLUMN upto_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE articles ADD COLUMN added_batch INTEGER NOT NULL DEFAULT 0;
CREATE INDEX articles_batch ON articles(added_batch);
