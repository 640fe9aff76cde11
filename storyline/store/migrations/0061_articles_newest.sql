-- storyline schema 61 (reader at scale, issue 20): the articles list (`/api/articles`, newest
-- first) reads its page from this index instead of sorting every article (1.67 s a request at 1M
-- articles). PostgreSQL's julianday (migration 0004) is STABLE, not IMMUTABLE, so it cannot index
-- it: there the list still sorts.
-- begin sqlite
CREATE INDEX articles_newest ON articles(coalesce(julianday(published), 0), seq);
-- end sqlite
