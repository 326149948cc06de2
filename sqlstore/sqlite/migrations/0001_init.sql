-- Lanyard schema, SQLite. Times are Unix nanoseconds (0: none); booleans 0/1.

-- config_version holds one row whose version grows with every write to
-- tenants, tenant_domains, idp_connections and sp_keys (see the triggers).
CREATE TABLE config_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT;
INSERT INTO config_version (id, version) VALUES (1, 1);

CREATE TABLE tenants (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	slug TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL,
	sso_settings TEXT NOT NULL, -- JSON of lanyard.SSOSettings
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tenant_domains (
	domain TEXT PRIMARY KEY, -- lower case; a domain belongs to one tenant
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE idp_connections (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	entity_id TEXT NOT NULL,
	metadata_xml TEXT NOT NULL,
	source_url TEXT NOT NULL,
	signing_certs TEXT NOT NULL, -- JSON list of PEM certificates
	legacy_sha1 INTEGER NOT NULL,
	refreshed_at INTEGER NOT NULL,
	refresh_error TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant_id, entity_id)
) STRICT;

CREATE TABLE sp_keys (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	key_use TEXT NOT NULL,
	private_key_pem TEXT NOT NULL,
	certificate_pem TEXT NOT NULL,
	not_after INTEGER NOT NULL,
	active INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sp_keys_tenant ON sp_keys (tenant_id, created_at);

CREATE TABLE users (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	login TEXT NOT NULL,
	login_lower TEXT NOT NULL,
	email TEXT NOT NULL,
	email_lower TEXT NOT NULL,
	first_name TEXT NOT NULL,
	last_name TEXT NOT NULL,
	search_text TEXT NOT NULL, -- lower-cased login, email and names, for UserFilter.Query
	status TEXT NOT NULL,
	locked INTEGER NOT NULL,
	login_method TEXT NOT NULL,
	web_access INTEGER NOT NULL,
	source TEXT NOT NULL,
	idp_sourced INTEGER NOT NULL,
	password_hash TEXT NOT NULL,
	auto_login INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	last_login_at INTEGER NOT NULL,
	version INTEGER NOT NULL DEFAULT 1 -- grows with every update, for optimistic writes
) STRICT;
CREATE UNIQUE INDEX users_tenant_login ON users (tenant_id, login_lower);
CREATE INDEX users_tenant_email ON users (tenant_id, email_lower);

CREATE TABLE user_roles (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role TEXT NOT NULL,
	source TEXT NOT NULL,
	PRIMARY KEY (user_id, role, source)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_roles_role ON user_roles (role, user_id);

CREATE TABLE user_links (
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	idp_entity_id TEXT NOT NULL,
	name_id TEXT NOT NULL,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name_id_format TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, idp_entity_id, name_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_links_user ON user_links (user_id);

CREATE TABLE sessions (
	hash BLOB PRIMARY KEY, -- SHA-256 of the session ID
	tenant_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	idp_entity_id TEXT NOT NULL,
	name_id TEXT NOT NULL,
	name_id_format TEXT NOT NULL,
	session_index TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	idle_expires_at INTEGER NOT NULL,
	abs_expires_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL, -- the earlier of the two above
	client_ip TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	last_refresh_at INTEGER NOT NULL,
	csrf_secret BLOB
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_name_id ON sessions (tenant_id, idp_entity_id, name_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- audit_events keeps user_id as a plain value: the trail outlives accounts.
CREATE TABLE audit_events (
	id INTEGER PRIMARY KEY,
	occurred_at INTEGER NOT NULL,
	tenant_id INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	outcome TEXT NOT NULL,
	reason TEXT NOT NULL,
	user_id INTEGER NOT NULL,
	subject TEXT NOT NULL,
	client_ip TEXT NOT NULL,
	message TEXT NOT NULL,
	detail TEXT NOT NULL -- JSON object, empty when none
) STRICT;
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_user ON audit_events (user_id, id);

CREATE TABLE replay_cache (
	id TEXT PRIMARY KEY, -- assertion ID
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX replay_cache_expires ON replay_cache (expires_at);

CREATE TABLE pending_requests (
	id TEXT PRIMARY KEY, -- AuthnRequest ID
	tenant_id INTEGER NOT NULL,
	idp_entity_id TEXT NOT NULL,
	return_to TEXT NOT NULL,
	binding BLOB,
	passive INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX pending_requests_expires ON pending_requests (expires_at);

CREATE TABLE one_time_tokens (
	hash BLOB PRIMARY KEY,
	purpose TEXT NOT NULL,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id);

CREATE TABLE login_failures (
	id INTEGER PRIMARY KEY,
	throttle_key TEXT NOT NULL, -- an account or a client address
	failed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_key ON login_failures (throttle_key, failed_at);
CREATE INDEX login_failures_time ON login_failures (failed_at);

CREATE TRIGGER tenants_insert_config AFTER INSERT ON tenants
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_update_config AFTER UPDATE ON tenants
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_delete_config AFTER DELETE ON tenants
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_domains_insert_config AFTER INSERT ON tenant_domains
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_domains_update_config AFTER UPDATE ON tenant_domains
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_domains_delete_config AFTER DELETE ON tenant_domains
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER idp_connections_insert_config AFTER INSERT ON idp_connections
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER idp_connections_update_config AFTER UPDATE ON idp_connections
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER idp_connections_delete_config AFTER DELETE ON idp_connections
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sp_keys_insert_config AFTER INSERT ON sp_keys
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sp_keys_update_config AFTER UPDATE ON sp_keys
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER sp_keys_delete_config AFTER DELETE ON sp_keys
BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
