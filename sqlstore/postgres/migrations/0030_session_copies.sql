-- A session the gateway copies to an application's host is good on that
-- origin only, and ends with the session it copies (sign-out, Single
-- Logout, the passive check, an administrator's action, expiry).
ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN parent_hash BYTEA REFERENCES sessions (hash) ON DELETE CASCADE;
CREATE INDEX sessions_parent ON sessions (parent_hash);
