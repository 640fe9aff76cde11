-- storyline schema v4: the engine's saved state names what made it; splits are recorded.
-- maker: JSON of the composite key (clusterer, embedder, IDF table, model file hashes).
ALTER TABLE engine_state ADD COLUMN maker TEXT NOT NULL DEFAULT '';

-- A story the engine (rebuild) or an editor split: new_id holds part of what old_id held.
CREATE TABLE story_splits (
    old_id   TEXT NOT NULL,
    new_id   TEXT NOT NULL,
    split_at TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (old_id, new_id)
);
