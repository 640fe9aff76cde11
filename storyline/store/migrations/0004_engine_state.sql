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

-- The few SQLite functions the read queries use, for PostgreSQL (one statement per line).
-- begin postgresql
CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ BEGIN RETURN extract(epoch FROM t::timestamptz) / 86400.0 + 2440587.5; EXCEPTION WHEN others THEN RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION max(a double precision, b double precision) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT greatest(a, b)';
CREATE OR REPLACE FUNCTION storyline_count_true(n bigint, b boolean) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT n + (CASE WHEN b THEN 1 ELSE 0 END)';
CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = storyline_count_true, STYPE = bigint, INITCOND = '0');
-- Committed changes to what pages show notify 'storyline_changed', so a server's cache check is a
-- local poll of its connection (store/queries_pg.py data_version) rather than a query per request.
CREATE OR REPLACE FUNCTION storyline_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('storyline_changed', ''); RETURN NULL; END $$;
CREATE TRIGGER articles_notify AFTER INSERT OR UPDATE OR DELETE ON articles FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
CREATE TRIGGER stories_notify AFTER INSERT OR UPDATE OR DELETE ON stories FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
CREATE TRIGGER story_merges_notify AFTER INSERT OR UPDATE OR DELETE ON story_merges FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
CREATE TRIGGER pinned_headlines_notify AFTER INSERT OR UPDATE OR DELETE ON pinned_headlines FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
CREATE TRIGGER feeds_notify AFTER INSERT OR UPDATE OR DELETE ON feeds FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
-- end postgresql
