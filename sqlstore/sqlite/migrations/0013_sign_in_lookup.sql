-- Username-first login looks an account up by login or email across every
-- tenant in one indexed query, whatever the number of tenants.
CREATE INDEX users_login_any_tenant ON users (login_lower);
CREATE INDEX users_email_any_tenant ON users (email_lower);
