-- storyline schema v11 (reader): the source registry, what each outlet is (portable SQL).
-- domains: space-separated host names; kind: wire, national, local, public broadcaster, ...;
-- lean: optional; note: where the description came from.
CREATE TABLE sources (
    name       TEXT PRIMARY KEY,
    domains    TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT '',
    lean       TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
-- a registry change changes what story pages show (who covers, who missed): tell serving caches
-- begin postgresql
CREATE TRIGGER sources_notify AFTER INSERT OR UPDATE OR DELETE ON sources FOR EACH STATEMENT EXECUTE FUNCTION storyline_notify();
-- end postgresql
