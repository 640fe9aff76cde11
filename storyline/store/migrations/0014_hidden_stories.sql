-- storyline schema v14 (reader): stories an editor hid from readers (lists, search, feeds, related,
-- and the story page itself); unhiding deletes the row.
CREATE TABLE hidden_stories (
    story_id TEXT PRIMARY KEY,
    at       TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
