-- storyline schema 41 (reader at scale, issue 20): the front page reads what it shows.
-- The outlet and language choices walk these indexes one distinct value at a time (a loose
-- index scan) instead of reading every article; an outlet or language filter looks its
-- articles up; (source, url) answers "an outlet's latest URL" (the source registry's match) by a
-- seek. When a report was first seen (queries.SEEN_SQL) is indexed with its outlet, for the
-- outlets active around a story and the stories that moved since a time. The front page's count and ranking read indexes, not the story rows (whose
-- summaries are most of the table): the count (size, id); the ranking scores the freshest
-- stories from (last_seen, size, outlets, duplicates, id) and bounds every older one with the
-- breadth index (see store/queries.py ranked_stories).
CREATE INDEX articles_source ON articles(source, url);
CREATE INDEX articles_language ON articles(language);
CREATE INDEX stories_size ON stories(size, id);
CREATE INDEX stories_rank ON stories(last_seen, size, outlets, duplicates, id);
CREATE INDEX stories_breadth ON stories((2.0 * outlets + size + 0.5 * duplicates), last_seen);
CREATE INDEX articles_seen ON articles((coalesce(published, fetched_at, added_at)), source);
