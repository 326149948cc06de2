-- Only the directory's accounts are listed by source and status (the LDAP
-- sync's reconciliation), so the index holds those alone: an account made
-- at login or by SCIM adds no entry to it, one index page less to write
-- per just-in-time account. It also stops PostgreSQL from finding an
-- account by login through it: before the first ANALYZE of users, the
-- planner costed (tenant_id, source, status) level with the unique
-- (tenant_id, login_lower) and chose it, and a prepared lookup kept that
-- plan, reading every account of the tenant, until statistics arrived.
-- The reconciliation names the source as a literal, which implies the
-- index's condition.
DROP INDEX users_tenant_source;
CREATE INDEX users_ldap_status ON users (tenant_id, status) WHERE source = 'ldap';
