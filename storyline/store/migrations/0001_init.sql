-- storyline schema v1: articles, stories, merges, engine state, feeds, checkpoints, search.
CREATE TABLE articles (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    url          TEXT NOT NULL DEFAULT '',
    origin       TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL DEFAULT '',
    author       TEXT NOT NULL DEFAULT '',
    published    TEXT,
    fetched_at   TEXT,
    language     TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    canonical_id TEXT NOT NULL,           -- own id for originals, the original's id for reprints
    story_id     TEXT NOT NULL,           -- story at assignment time (follow story_merges)
    added_at     TEXT NOT NULL
);
CREATE INDEX articles_story ON articles(story_id);
CREATE INDEX articles_canonical ON articles(canonical_id);
CREATE INDEX articles_url ON articles(url) WHERE url <> '';
CREATE INDEX articles_hash ON articles(content_hash);

CREATE TABLE minhash_signatures (
    article_id TEXT PRIMARY KEY REFERENCES articles(id),
    signature  BLOB NOT NULL
);

CREATE TABLE stories (
    id          TEXT PRIMARY KEY,
    headline    TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',      -- JSON of Summary.to_dict()
    size        INTEGER NOT NULL DEFAULT 0,    -- distinct (original) articles
    duplicates  INTEGER NOT NULL DEFAULT 0,    -- reprints collapsed into them
    outlets     INTEGER NOT NULL DEFAULT 0,
    first_seen  TEXT,
    last_seen   TEXT,
    updated_at  TEXT NOT NULL,
    dirty       INTEGER NOT NULL DEFAULT 1     -- summary needs recomputing
);
CREATE INDEX stories_dirty ON stories(dirty) WHERE dirty = 1;
CREATE INDEX stories_last_seen ON stories(last_seen);

CREATE TABLE story_merges (
    old_id    TEXT PRIMARY KEY,
    new_id    TEXT NOT NULL,
    merged_at TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE engine_state (
    name  TEXT PRIMARY KEY,    -- e.g. 'clusterer'
    kind  TEXT NOT NULL,       -- the component's versioned name
    state TEXT NOT NULL        -- JSON
);

CREATE TABLE feeds (
    url                  TEXT PRIMARY KEY,
    title                TEXT NOT NULL DEFAULT '',
    etag                 TEXT NOT NULL DEFAULT '',
    last_modified        TEXT NOT NULL DEFAULT '',
    interval_s           REAL NOT NULL DEFAULT 1800,
    next_poll_at         TEXT,
    last_success_at      TEXT,
    last_error           TEXT NOT NULL DEFAULT '',
    last_error_at        TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    entries_seen         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE checkpoints (
    key   TEXT PRIMARY KEY,   -- e.g. 'warc:/path/file.warc.gz'
    value TEXT NOT NULL
);

CREATE TABLE ingest_errors (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    where_   TEXT NOT NULL,
    reason   TEXT NOT NULL
);

CREATE TABLE editorial_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    action  TEXT NOT NULL,
    payload TEXT NOT NULL
);

-- begin sqlite
CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='seq');
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, text) VALUES (new.seq, new.title, new.text);
END;
-- end sqlite
-- begin postgresql
CREATE INDEX articles_search ON articles USING gin (to_tsvector('simple', title || ' ' || text));
-- end postgresql
