-- storyline schema v10 (reader): the headlines a story has shown, for the story page's history.
-- at: when the headline took over (its report's time when a later development superseded the
-- one before, else the story's newest report time when it was computed; portable SQL).
CREATE TABLE headline_history (
    story_id   TEXT NOT NULL,
    at         TEXT NOT NULL,
    headline   TEXT NOT NULL,
    article_id TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (story_id, at, headline)
);
