-- A refused login's trace names the audit event of the refusal, whose ID
-- is the reference the refusal page shows: one number finds both.
ALTER TABLE login_traces ADD COLUMN audit_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX login_traces_audit ON login_traces (audit_id);
