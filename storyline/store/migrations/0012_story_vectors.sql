-- storyline schema v12 (reader): each story as the clusterer represents it, for related stories.
-- dense: the unit mean of its reports' embeddings (JSON, base64 float32); terms: its heaviest
-- tf-idf terms (JSON); embedder: the model that made dense (only like is compared with like).
CREATE TABLE story_vectors (
    story_id   TEXT PRIMARY KEY,
    embedder   TEXT NOT NULL DEFAULT '',
    dense      TEXT NOT NULL DEFAULT '',
    terms      TEXT NOT NULL DEFAULT '{}',
    last_seen  TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX story_vectors_last_seen ON story_vectors(last_seen);
