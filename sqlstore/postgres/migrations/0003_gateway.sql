-- The application gateway: keys that sign the identity tokens handed to
-- applications (rotated, shared by every node), and the reverse proxy routes.
CREATE TABLE signing_keys (
	kid TEXT COLLATE "C" PRIMARY KEY,
	algorithm TEXT NOT NULL,
	private_key BYTEA NOT NULL, -- PKCS #8, DER
	created_at BIGINT NOT NULL,
	sign_until BIGINT NOT NULL,
	publish_until BIGINT NOT NULL
);
CREATE INDEX signing_keys_publish ON signing_keys (publish_until);

CREATE TABLE proxy_routes (
	name TEXT COLLATE "C" PRIMARY KEY,
	host TEXT NOT NULL,
	path_prefix TEXT NOT NULL,
	upstream TEXT NOT NULL,
	tenant TEXT NOT NULL, -- a slug, not a reference: a route may name a tenant created later
	roles TEXT NOT NULL, -- JSON list of role names
	bearer_token BOOLEAN NOT NULL,
	strip_prefix BOOLEAN NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
