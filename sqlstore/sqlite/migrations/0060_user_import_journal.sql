-- A CSV import writes in short transactions, so that logins never wait
-- long for it; its journal keeps the promise that an import is all or
-- nothing: what each committed chunk did, to undo it when the import fails
-- or its process dies (an import "running" whose updated_at is stale).
CREATE TABLE user_imports (
	id INTEGER PRIMARY KEY,
	tenant_id INTEGER NOT NULL,
	actor TEXT NOT NULL,
	state TEXT NOT NULL, -- running, done, rolled_back
	rows_total INTEGER NOT NULL,
	rows_done INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX user_imports_state ON user_imports (state, tenant_id);
-- One account the import wrote: before is the account (JSON) before an
-- update, empty for an account the import created.
CREATE TABLE user_import_undo (
	import_id INTEGER NOT NULL REFERENCES user_imports (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	before TEXT NOT NULL,
	PRIMARY KEY (import_id, seq)
) STRICT;
