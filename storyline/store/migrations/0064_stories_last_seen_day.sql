-- storyline schema 64 (PostgreSQL at scale, issue 20): each story's last_seen as a Julian day,
-- kept by the database (a generated column, possible since 0062 made julianday immutable). The
-- front page scores every story of its freshest window (1,764 at 100k articles) by freshness, and
-- parsing last_seen in SQL for each took 11 of its 23 ms on PostgreSQL. SQLite's built-in
-- julianday costs microseconds there, so SQLite keeps computing it.
-- begin postgresql
ALTER TABLE stories ADD COLUMN last_seen_day double precision GENERATED ALWAYS AS (julianday(last_seen)) STORED;
-- end postgresql
