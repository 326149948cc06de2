-- OpenID Connect: the clients registered with a tenant's provider (their
-- settings as JSON; the secret only as its SHA-256), the codes and tokens
-- issued (only their SHA-256), and which clients took part in which
-- session, to send them back-channel logout tokens when it ends.
CREATE TABLE oidc_clients (
	tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	client_id TEXT NOT NULL,
	settings TEXT NOT NULL,
	secret_hash BYTEA,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, client_id)
);
CREATE TABLE oidc_grants (
	hash BYTEA PRIMARY KEY,
	kind TEXT NOT NULL, -- code, access, refresh
	tenant_id BIGINT NOT NULL,
	client_id TEXT NOT NULL,
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	session_hash BYTEA NOT NULL,
	family TEXT NOT NULL,
	details TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL
);
CREATE INDEX oidc_grants_family ON oidc_grants (family);
CREATE INDEX oidc_grants_session ON oidc_grants (session_hash);
CREATE INDEX oidc_grants_expires ON oidc_grants (expires_at);
CREATE INDEX oidc_grants_client ON oidc_grants (tenant_id, client_id);
CREATE TABLE oidc_logins (
	session_hash BYTEA NOT NULL,
	client_id TEXT NOT NULL,
	tenant_id BIGINT NOT NULL,
	subject TEXT NOT NULL,
	sid TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (session_hash, client_id)
);
