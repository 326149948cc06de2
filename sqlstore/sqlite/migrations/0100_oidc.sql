-- OpenID Connect: the clients registered with a tenant's provider (their
-- settings as JSON; the secret only as its SHA-256), the codes and tokens
-- issued (only their SHA-256), and which clients took part in which
-- session, to send them back-channel logout tokens when it ends.
CREATE TABLE oidc_clients (
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	client_id TEXT NOT NULL,
	settings TEXT NOT NULL,
	secret_hash BLOB,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, client_id)
) STRICT;
CREATE TABLE oidc_grants (
	hash BLOB PRIMARY KEY,
	kind TEXT NOT NULL, -- code, access, refresh
	tenant_id INTEGER NOT NULL,
	client_id TEXT NOT NULL,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	session_hash BLOB NOT NULL,
	family TEXT NOT NULL,
	details TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX oidc_grants_family ON oidc_grants (family);
CREATE INDEX oidc_grants_session ON oidc_grants (session_hash);
CREATE INDEX oidc_grants_expires ON oidc_grants (expires_at);
CREATE INDEX oidc_grants_client ON oidc_grants (tenant_id, client_id);
CREATE TABLE oidc_logins (
	session_hash BLOB NOT NULL,
	client_id TEXT NOT NULL,
	tenant_id INTEGER NOT NULL,
	subject TEXT NOT NULL,
	sid TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (session_hash, client_id)
) STRICT, WITHOUT ROWID;
