-- The per-IdP opt-in for legacy encryption (3DES-CBC content encryption,
-- RSA PKCS#1 v1.5 key transport); refused by default.
ALTER TABLE idp_connections ADD COLUMN legacy_encryption BOOLEAN NOT NULL DEFAULT FALSE;
