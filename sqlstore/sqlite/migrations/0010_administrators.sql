-- Two kinds of administrator (see lanyard.Authorize). API tokens belong to
-- a tenant (0: a global token, an operator's) and are bounded by the rights
-- of the account that created them (0: the CLI). The data upgrade of this
-- version (the roles "admin" of today, group mappings, tokens of
-- unknown creators) is done in Go by the same transaction: see
-- upgradeAdministrators.
ALTER TABLE api_tokens ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN creator_id INTEGER NOT NULL DEFAULT 0;
