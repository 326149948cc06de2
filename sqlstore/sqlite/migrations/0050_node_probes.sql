-- Each node commits its row now and then (the write probe of /readyz), so
-- that a database which can no longer take writes shows before a login
-- needs one.
CREATE TABLE node_probes (
    node       TEXT PRIMARY KEY,
    written_at INTEGER NOT NULL
);
