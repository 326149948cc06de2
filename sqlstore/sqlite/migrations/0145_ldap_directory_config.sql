-- A tenant's LDAP directory settings are configuration: SSO logins apply
-- its precedence rules, and take them from the tenant's snapshot in memory
-- rather than reading them at every login. A change to them (a directory
-- added, its settings changed, removed) logs a configuration change like
-- the other configuration tables; what the sync writes as it runs (its
-- mark, status, lease) does not.
CREATE TRIGGER ldap_directories_insert_config AFTER INSERT ON ldap_directories
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
CREATE TRIGGER ldap_directories_update_config AFTER UPDATE OF settings ON ldap_directories
	WHEN OLD.settings IS NOT NEW.settings
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, NEW.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
CREATE TRIGGER ldap_directories_delete_config AFTER DELETE ON ldap_directories
BEGIN
	UPDATE config_version SET version = version + 1 WHERE id = 1;
	INSERT INTO config_changes (version, tenant_id) SELECT version, OLD.tenant_id FROM config_version WHERE id = 1;
	DELETE FROM config_changes WHERE version <= (SELECT version FROM config_version WHERE id = 1) - 10000;
END;
