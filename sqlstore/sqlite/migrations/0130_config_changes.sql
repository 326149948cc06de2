-- config_changes names the tenant of each configuration change, under the
-- version the change took: a node that saw version V rebuilds only the
-- tenants of the changes after V (work per change independent of the number
-- of tenants). The last 10,000 changes are kept; a node further behind
-- rebuilds every tenant.
CREATE TABLE config_changes (
	version INTEGER PRIMARY KEY,
	tenant_id INTEGER NOT NULL
) STRICT;

-- Each written row bumps the version and logs its tenant, in the same statement.
DROP TRIGGER tenants_insert_config;
CREATE TRIGGER tenants_insert_config AFTER INSERT ON tenants
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER tenants_update_config;
CREATE TRIGGER tenants_update_config AFTER UPDATE ON tenants
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER tenants_delete_config;
CREATE TRIGGER tenants_delete_config AFTER DELETE ON tenants
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, OLD.id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER tenant_domains_insert_config;
CREATE TRIGGER tenant_domains_insert_config AFTER INSERT ON tenant_domains
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER tenant_domains_update_config;
CREATE TRIGGER tenant_domains_update_config AFTER UPDATE ON tenant_domains
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER tenant_domains_delete_config;
CREATE TRIGGER tenant_domains_delete_config AFTER DELETE ON tenant_domains
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, OLD.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER idp_connections_insert_config;
CREATE TRIGGER idp_connections_insert_config AFTER INSERT ON idp_connections
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER idp_connections_update_config;
CREATE TRIGGER idp_connections_update_config AFTER UPDATE ON idp_connections
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER idp_connections_delete_config;
CREATE TRIGGER idp_connections_delete_config AFTER DELETE ON idp_connections
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, OLD.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER sp_keys_insert_config;
CREATE TRIGGER sp_keys_insert_config AFTER INSERT ON sp_keys
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER sp_keys_update_config;
CREATE TRIGGER sp_keys_update_config AFTER UPDATE ON sp_keys
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
DROP TRIGGER sp_keys_delete_config;
CREATE TRIGGER sp_keys_delete_config AFTER DELETE ON sp_keys
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, OLD.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
