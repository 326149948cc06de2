package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// defaultAuditLimit is the page size of AuditEvents when the filter has none.
const defaultAuditLimit = 100

// AppendAudit inserts e and sets its ID (and Time when zero).
func (d *DB) AppendAudit(ctx context.Context, e *lanyard.AuditEvent) error {
	var id int64
	err := d.writer().QueryRowContext(ctx, appendAuditSQL, d.auditInsertArgs(e)...).Scan(&id)
	if err != nil {
		return fmt.Errorf("sqlstore: append audit %q: %w", e.Action, err)
	}
	e.ID = id
	return nil
}

// appendAuditSQL inserts an audit event: its arguments are auditInsertArgs.
var appendAuditSQL = insertAuditSQL(1)

// insertAuditSQL is the statement that inserts an audit event and returns
// its ID, its arguments numbered from first.
func insertAuditSQL(first int) string {
	const columns = 11
	params := make([]string, columns)
	for i := range params {
		params[i] = "$" + strconv.Itoa(first+i)
	}
	return `INSERT INTO audit_events (occurred_at, tenant_id, actor, action, outcome, reason, user_id, subject,
			client_ip, message, detail)
		VALUES (` + strings.Join(params, ", ") + `) RETURNING id`
}

// auditInsertArgs sets e's Time when zero, to the store's precision, and
// returns the arguments of insertAuditSQL.
func (d *DB) auditInsertArgs(e *lanyard.AuditEvent) []any {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	e.Time = fromNanos(toNanos(e.Time))
	detail := ""
	if len(e.Detail) > 0 {
		detail = encodeDetail(e.Detail)
	}
	return []any{toNanos(e.Time), e.TenantID, e.Actor, e.Action, string(e.Outcome), e.Reason, e.UserID, e.Subject,
		e.ClientIP, e.Message, detail}
}

// AuditEvents lists events matching f, newest (last appended) first. Since
// is inclusive, Until exclusive.
func (d *DB) AuditEvents(ctx context.Context, f lanyard.AuditFilter) ([]lanyard.AuditEvent, error) {
	w := &where{}
	if f.ID != 0 {
		w.add(`id = $%d`, f.ID)
	}
	if f.TenantID != 0 {
		w.add(`tenant_id = $%d`, f.TenantID)
	}
	if f.UserID != 0 {
		w.add(`user_id = $%d`, f.UserID)
	}
	if f.Action != "" {
		w.add(`action = $%d`, f.Action)
	}
	if f.Outcome != "" {
		w.add(`outcome = $%d`, string(f.Outcome))
	}
	if f.Reason != "" {
		w.add(`reason = $%d`, f.Reason)
	}
	if !f.Since.IsZero() {
		w.add(`occurred_at >= $%d`, toNanos(f.Since))
	}
	if !f.Until.IsZero() {
		w.add(`occurred_at < $%d`, toNanos(f.Until))
	}
	if f.BeforeID > 0 {
		w.add(`id < $%d`, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	w.args = append(w.args, limit)
	rows, err := d.reader().QueryContext(ctx,
		`SELECT id, occurred_at, tenant_id, actor, action, outcome, reason, user_id, subject, client_ip, message, detail
		FROM audit_events`+w.String()+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(w.args)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list audit events: %w", err)
	}
	defer rows.Close()
	var out []lanyard.AuditEvent
	for rows.Next() {
		var (
			e       lanyard.AuditEvent
			at      int64
			outcome string
			detail  string
		)
		err := rows.Scan(&e.ID, &at, &e.TenantID, &e.Actor, &e.Action, &outcome, &e.Reason, &e.UserID,
			&e.Subject, &e.ClientIP, &e.Message, &detail)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list audit events: %w", err)
		}
		e.Time, e.Outcome = fromNanos(at), lanyard.Outcome(outcome)
		if detail != "" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("sqlstore: audit event %d: decode detail: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list audit events: %w", err)
	}
	return out, nil
}
