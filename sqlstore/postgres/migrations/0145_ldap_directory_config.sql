-- A tenant's LDAP directory settings are configuration: SSO logins apply
-- its precedence rules, and take them from the tenant's snapshot in memory
-- rather than reading them at every login. A change to them (a directory
-- added, its settings changed, removed) logs a configuration change like
-- the other configuration tables; what the sync writes as it runs (its
-- mark, status, lease) does not.
CREATE TRIGGER ldap_directories_config AFTER INSERT OR DELETE ON ldap_directories
	FOR EACH ROW EXECUTE FUNCTION log_config_change('tenant_id');
CREATE TRIGGER ldap_directories_settings_config AFTER UPDATE OF settings ON ldap_directories
	FOR EACH ROW WHEN (OLD.settings IS DISTINCT FROM NEW.settings)
	EXECUTE FUNCTION log_config_change('tenant_id');
