-- How the IdP authenticated the user of an SSO session (the SAML
-- AuthnContextClassRef of its login): the "acr" of OpenID Connect.
ALTER TABLE sessions ADD COLUMN authn_context TEXT NOT NULL DEFAULT '';
