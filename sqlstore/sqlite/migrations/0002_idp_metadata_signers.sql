-- The certificates pinned to verify an IdP's metadata signature, kept so
-- that every refresh from the source URL is verified as the import was.
ALTER TABLE idp_connections ADD COLUMN metadata_signers TEXT NOT NULL DEFAULT '[]'; -- JSON list of PEM certificates
