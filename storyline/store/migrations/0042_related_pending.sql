-- storyline schema 42 (reader at scale, issue 20): the stories whose related lists are owed
-- (their vector was written after their list was computed), found without reading every vector.
CREATE INDEX story_vectors_pending ON story_vectors(story_id) WHERE related_at IS NULL OR related_at <> updated_at;
