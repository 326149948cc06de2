-- A stored clock_skew of zero used to mean the default (3 minutes); zero
-- now means none and an absent clock_skew the default. Unset those values
-- so that every tenant keeps the skew it had.
UPDATE tenants SET sso_settings = json_remove(sso_settings, '$.clock_skew')
WHERE json_valid(sso_settings) AND json_extract(sso_settings, '$.clock_skew') IN ('0s', 0);
