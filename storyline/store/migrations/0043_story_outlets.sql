-- storyline schema 43 (reader at scale, issue 20): a story card counts the outlets that carried
-- the story from this index (story, outlet) instead of reading each of its articles' rows.
CREATE INDEX articles_story_source ON articles(story_id, source);
