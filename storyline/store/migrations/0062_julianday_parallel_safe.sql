-- storyline schema 62 (PostgreSQL at scale, issue 20). Migration 0004's julianday caught a failed
-- cast with an EXCEPTION block, which opens a subtransaction on every call; it was also declared
-- PARALLEL SAFE. Once a table is big enough for the planner to scan it in parallel (about 60k
-- articles), every query calling it failed with "cannot start subtransactions during a parallel
-- operation": story pages, the front page with a time filter and /api/articles answered 500.
-- This julianday parses SQLite's date and time forms itself, as SQLite's julianday does:
-- YYYY-MM-DD, then optionally [T ]HH:MM, :SS, .fraction, and Z or +HH:MM (hours up to 14) after
-- a time; a time without an offset is UTC; days up to 31 roll over into the next month; anything
-- else is NULL. No cast, so no error to catch, and no dependence on the session's TimeZone: it is
-- immutable, so the articles list's index of migration 0061 now exists on PostgreSQL too.
-- The form storyline itself stores (YYYY-MM-DDTHH:MM:SS+HH:MM, days up to 28) is read by one SQL
-- expression the planner inlines (make_date cannot fail there), in SQLite's milliseconds; any
-- other form goes to the full parser, storyline_julianday. Per call over 100k articles (minimum of
-- five): 5.4 us, the full parser 9.2, 0004's function 2.5-3.0.
-- begin postgresql
CREATE OR REPLACE FUNCTION storyline_julianday(t text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  u text; y int; mo int; d int; h int := 0; mi int := 0; s double precision := 0; tz int := 0; a int; jd bigint;
BEGIN
  IF t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)? *(?:[Zz]|[-+][0-9]{2}:[0-9]{2})?)? *$' THEN
    RETURN NULL;
  END IF;
  y := substr(t, 1, 4)::int; mo := substr(t, 6, 2)::int; d := substr(t, 9, 2)::int;
  IF substr(t, 14, 1) = ':' THEN
    h := substr(t, 12, 2)::int; mi := substr(t, 15, 2)::int;
    IF substr(t, 17, 1) = ':' THEN
      s := split_part(translate(substr(t, 18), '+-Zz ', '#####'), '#', 1)::double precision;
    END IF;
    u := rtrim(t, ' ');
    IF substr(u, length(u) - 2, 1) = ':' AND substr(u, length(u) - 5, 1) IN ('+', '-') THEN
      IF substr(u, length(u) - 4, 2)::int > 14 OR right(u, 2)::int > 59 THEN RETURN NULL; END IF;
      tz := substr(u, length(u) - 4, 2)::int * 60 + right(u, 2)::int;
      IF substr(u, length(u) - 5, 1) = '-' THEN tz := -tz; END IF;
    END IF;
  END IF;
  IF mo < 1 OR mo > 12 OR d < 1 OR d > 31 OR h > 24 OR mi > 59 OR s >= 60 THEN RETURN NULL; END IF;
  -- SQLite's computeJD, in milliseconds
  IF mo <= 2 THEN y := y - 1; mo := mo + 12; END IF;
  a := y / 100;
  jd := trunc(((36525 * (y + 4716)) / 100 + (306001 * (mo + 1)) / 10000 + d + (2 - a + a / 4) - 1524.5) * 86400000)::bigint;
  RETURN (jd + h * 3600000 + mi * 60000 + trunc(s * 1000 + 0.5)::bigint - tz * 60000) / 86400000.0;
END $$;
CREATE OR REPLACE FUNCTION julianday(t text) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN translate(t, '123456789', '000000000') IN ('0000-00-00T00:00:00+00:00', '0000-00-00T00:00:00-00:00')
   AND substr(t, 6, 2)::int BETWEEN 1 AND 12 AND substr(t, 9, 2)::int BETWEEN 1 AND 28 AND substr(t, 12, 2)::int <= 23
   AND substr(t, 15, 2)::int <= 59 AND substr(t, 18, 2)::int <= 59 AND substr(t, 21, 2)::int <= 14
   AND substr(t, 24, 2)::int <= 59
  THEN ((make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, substr(t, 9, 2)::int) - DATE '1970-01-01')::bigint * 86400000
        + 210866760000000
        + (substr(t, 12, 2)::int * 3600 + substr(t, 15, 2)::int * 60 + substr(t, 18, 2)::int
           - (CASE substr(t, 20, 1) WHEN '-' THEN -1 ELSE 1 END) * (substr(t, 21, 2)::int * 3600 + substr(t, 24, 2)::int * 60))
          * 1000) / 86400000.0
  ELSE storyline_julianday(t) END $$;
-- The index calls the full parser: each INSERT prepares an index's expressions again, and the
-- inlined SQL julianday cost about 60 us a statement there (1.2 s of a 10k ingest's database
-- time); the parser costs 9 us a row. So the articles list orders by it on PostgreSQL.
CREATE INDEX articles_newest ON articles(coalesce(storyline_julianday(published), 0), seq);
-- end postgresql
