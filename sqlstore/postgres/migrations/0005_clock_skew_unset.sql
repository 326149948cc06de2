-- A stored clock_skew of zero used to mean the default (3 minutes); zero
-- now means none and an absent clock_skew the default. Unset those values
-- so that every tenant keeps the skew it had.
UPDATE tenants SET sso_settings = (sso_settings::jsonb - 'clock_skew')::text
WHERE sso_settings::jsonb -> 'clock_skew' IN ('"0s"'::jsonb, '0'::jsonb);
