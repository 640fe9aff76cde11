-- storyline schema v14 (reader): stories an editor hid from readers (lists, search, feeds, related,
-- and the story page itself); unhiding deletes the row.
CREATE TABLE hidden_stories (
    story_id TEXT PRIMARY KEY,
    at       TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
-- hiding or showing a story changes every page: tell serving caches (see migration 0004)
-- begin postgresql
CREATE TRIGGER hidden_stories_notify AFTER INSERT OR UPDATE OR DELETE ON hidden_stories FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
-- end postgresql
