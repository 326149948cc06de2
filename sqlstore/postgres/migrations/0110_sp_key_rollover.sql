-- SP key rollover: a key added as the next one is published in metadata
-- beside the current one before Lanyard switches to it.
ALTER TABLE sp_keys ADD COLUMN next BOOLEAN NOT NULL DEFAULT FALSE;
-- Who fetched a tenant's SP metadata, to tell an administrator whether
-- IdPs have seen the next key. Bounded per tenant by the store.
CREATE TABLE sp_metadata_fetches (
	tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	requester TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	first_at BIGINT NOT NULL,
	last_at BIGINT NOT NULL,
	fetches BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, requester)
);
