-- The indexes that find accounts by login or email across tenants carry
-- the tenant as their second column. A lookup within one tenant could go
-- through them: PostgreSQL's generic plan of a prepared lookup costs
-- (login_lower) level with the unique (tenant_id, login_lower), since
-- its statistics say a login is nearly unique, and a login that many
-- tenants share ("admin") was then read once per tenant, at each login,
-- to keep one. With the tenant in the index, either index finds the row
-- itself. (email_lower, tenant_id) also serves the lookups by email
-- within a tenant, so (tenant_id, email_lower) goes: one index entry less
-- to write per account.
DROP INDEX users_login_any_tenant;
CREATE INDEX users_login_any_tenant ON users (login_lower, tenant_id);
DROP INDEX users_email_any_tenant;
DROP INDEX users_tenant_email;
CREATE INDEX users_email_any_tenant ON users (email_lower, tenant_id);
