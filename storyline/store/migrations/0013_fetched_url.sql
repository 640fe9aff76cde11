-- storyline schema v13 (reader): the address each article was fetched or archived under (a WARC
-- record's WARC-Target-URI), kept beside its canonical url.
ALTER TABLE articles ADD COLUMN fetched_url TEXT NOT NULL DEFAULT '';
