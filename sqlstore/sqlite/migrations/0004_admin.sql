-- Administration: bearer tokens of the JSON API (only the SHA-256 of the
-- secret is kept) and the SAML tracer's traces of refused SSO logins.
CREATE TABLE api_tokens (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	hash BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
	prefix TEXT NOT NULL,
	scopes TEXT NOT NULL, -- space-separated
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at = 0;

-- login_traces keeps tenant_id as a plain value, like audit_events.
CREATE TABLE login_traces (
	id INTEGER PRIMARY KEY,
	tenant_id INTEGER NOT NULL,
	occurred_at INTEGER NOT NULL,
	idp_entity_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	reason TEXT NOT NULL,
	message TEXT NOT NULL,
	hint TEXT NOT NULL,
	clock_skew INTEGER NOT NULL, -- nanoseconds, IdP ahead when positive
	client_ip TEXT NOT NULL,
	document TEXT NOT NULL
) STRICT;
CREATE INDEX login_traces_tenant ON login_traces (tenant_id, id);
CREATE INDEX login_traces_time ON login_traces (occurred_at);
