-- SCIM provisioning (RFC 7643): what a SCIM client keeps on an account
-- beyond its own fields, and the groups it pushes, whose members receive
-- the roles the tenant maps the group's name to.
CREATE TABLE scim_profiles (
	user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	external_id TEXT NOT NULL,
	attributes TEXT NOT NULL, -- JSON object of the attributes kept but not used
	-- 1: the client deleted the user while the tenant keeps deleted
	-- accounts (scim_delete=deactivate): the account stays, inactive, and
	-- SCIM no longer shows it; a create of the same userName revives it.
	deleted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX scim_profiles_external_id ON scim_profiles (external_id);
CREATE TABLE scim_groups (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	display_name TEXT NOT NULL,
	display_name_lower TEXT NOT NULL,
	external_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX scim_groups_tenant_name ON scim_groups (tenant_id, display_name_lower);
CREATE TABLE scim_group_members (
	group_id INTEGER NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX scim_group_members_user ON scim_group_members (user_id);
