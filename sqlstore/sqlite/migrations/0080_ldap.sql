-- A tenant's LDAP / Active Directory connection (the bind password sealed
-- like the private keys), what its sync remembers between runs, and the
-- history of the runs with their reports.
CREATE TABLE ldap_directories (
	tenant_id INTEGER PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	settings TEXT NOT NULL,
	bind_password BLOB NOT NULL,
	mark TEXT NOT NULL DEFAULT '',
	last_full_at INTEGER NOT NULL DEFAULT 0,
	last_incr_at INTEGER NOT NULL DEFAULT 0,
	last_status TEXT NOT NULL DEFAULT '',
	last_message TEXT NOT NULL DEFAULT '',
	pending_run_id INTEGER NOT NULL DEFAULT 0,
	-- the node running a sync of the tenant, until when (one at a time
	-- across the cluster)
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ldap_sync_runs (
	id INTEGER PRIMARY KEY,
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	dry_run INTEGER NOT NULL,
	status TEXT NOT NULL,
	actor TEXT NOT NULL,
	started_at INTEGER NOT NULL,
	finished_at INTEGER NOT NULL,
	seen INTEGER NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	deactivated INTEGER NOT NULL,
	reactivated INTEGER NOT NULL,
	message TEXT NOT NULL,
	report TEXT NOT NULL,
	confirmed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX ldap_sync_runs_tenant ON ldap_sync_runs (tenant_id, id);
CREATE INDEX users_tenant_source ON users (tenant_id, source, status);
