-- The application gateway: keys that sign the identity tokens handed to
-- applications (rotated, shared by every node), and the reverse proxy routes.
CREATE TABLE signing_keys (
	kid TEXT PRIMARY KEY,
	algorithm TEXT NOT NULL,
	private_key BLOB NOT NULL, -- PKCS #8, DER
	created_at INTEGER NOT NULL,
	sign_until INTEGER NOT NULL,
	publish_until INTEGER NOT NULL
) STRICT;
CREATE INDEX signing_keys_publish ON signing_keys (publish_until);

CREATE TABLE proxy_routes (
	name TEXT PRIMARY KEY,
	host TEXT NOT NULL,
	path_prefix TEXT NOT NULL,
	upstream TEXT NOT NULL,
	tenant TEXT NOT NULL, -- a slug, not a reference: a route may name a tenant created later
	roles TEXT NOT NULL, -- JSON list of role names
	bearer_token INTEGER NOT NULL,
	strip_prefix INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
