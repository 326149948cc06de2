-- config_changes names the tenant of each configuration change, under the
-- version the change took: a node that saw version V rebuilds only the
-- tenants of the changes after V (work per change independent of the number
-- of tenants). The last 10,000 changes are kept; a node further behind
-- rebuilds every tenant.
CREATE TABLE config_changes (
	version BIGINT PRIMARY KEY,
	tenant_id BIGINT NOT NULL
);

-- Each written row bumps the version and logs its tenant; the argument
-- names the column that holds the tenant's ID. (The version row's lock
-- orders the changes as they commit.)
CREATE FUNCTION log_config_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	v BIGINT;
	r JSONB;
BEGIN
	IF TG_OP = 'DELETE' THEN
		r := to_jsonb(OLD);
	ELSE
		r := to_jsonb(NEW);
	END IF;
	UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version INTO v;
	INSERT INTO config_changes (version, tenant_id) VALUES (v, (r->>TG_ARGV[0])::BIGINT);
	DELETE FROM config_changes WHERE version <= v - 10000;
	RETURN NULL;
END;
$$;
DROP TRIGGER tenants_config ON tenants;
CREATE TRIGGER tenants_config AFTER INSERT OR UPDATE OR DELETE ON tenants
	FOR EACH ROW EXECUTE FUNCTION log_config_change('id');
DROP TRIGGER tenant_domains_config ON tenant_domains;
CREATE TRIGGER tenant_domains_config AFTER INSERT OR UPDATE OR DELETE ON tenant_domains
	FOR EACH ROW EXECUTE FUNCTION log_config_change('tenant_id');
DROP TRIGGER idp_connections_config ON idp_connections;
CREATE TRIGGER idp_connections_config AFTER INSERT OR UPDATE OR DELETE ON idp_connections
	FOR EACH ROW EXECUTE FUNCTION log_config_change('tenant_id');
DROP TRIGGER sp_keys_config ON sp_keys;
CREATE TRIGGER sp_keys_config AFTER INSERT OR UPDATE OR DELETE ON sp_keys
	FOR EACH ROW EXECUTE FUNCTION log_config_change('tenant_id');
DROP FUNCTION bump_config_version();
