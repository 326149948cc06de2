-- Only a session copied to an application's host has a parent. The index
-- that finds a session's copies (for the ON DELETE CASCADE of parent_hash)
-- holds those alone, so that a login's session adds no entry to it: one
-- index page less to write per login. The cascade's lookup, parent_hash =
-- the deleted hash, implies parent_hash IS NOT NULL and still uses it.
DROP INDEX sessions_parent;
CREATE INDEX sessions_parent ON sessions (parent_hash) WHERE parent_hash IS NOT NULL;
