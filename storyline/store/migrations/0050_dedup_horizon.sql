-- storyline schema 50 (ingest at scale, issue 20): the deduplicator keeps only the originals of
-- its horizon in memory (dedup_horizon_days); on load it reads their signatures by date through
-- this index (originals only: reprints have no signature). Exact copies of older articles are
-- found through articles_hash (content_hash), so nothing else needs the whole table.
CREATE INDEX articles_dedup_recent ON articles((coalesce(published, fetched_at)), seq) WHERE canonical_id = id;
