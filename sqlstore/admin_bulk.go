package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// defaultBulkRows is how many rows one multi-row INSERT carries unless the
// dialect says otherwise: with 19 columns a statement stays well below the
// parameter limits of both engines (SQLite 32766, PostgreSQL 65535).
const defaultBulkRows = 500

// bulkRows is the number of rows per multi-row INSERT of the dialect.
func (d *DB) bulkRows() int {
	if d.dialect.BulkRows > 0 {
		return d.dialect.BulkRows
	}
	return defaultBulkRows
}

// values returns "($1, $2, ...), (...)" for rows of cols placeholders.
func values(rows, cols int) string {
	var b strings.Builder
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", n)
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// CreateUsers inserts the users with their roles in one transaction, a
// few hundred rows per statement.
func (d *DB) CreateUsers(ctx context.Context, users []*lanyard.User) error {
	const op = "sqlstore.CreateUsers"
	if len(users) == 0 {
		return nil
	}
	now := d.timestamp()
	return d.inTx(ctx, func(tx *DB) error {
		for start := 0; start < len(users); start += tx.bulkRows() {
			chunk := users[start:min(start+tx.bulkRows(), len(users))]
			args := make([]any, 0, len(chunk)*19)
			byLogin := make(map[[2]any]*lanyard.User, len(chunk))
			for _, u := range chunk {
				normalizeUserRoles(u)
				created := now
				if !u.CreatedAt.IsZero() {
					created = fromNanos(toNanos(u.CreatedAt))
				}
				u.CreatedAt, u.UpdatedAt = created, now
				u.LastLoginAt = fromNanos(toNanos(u.LastLoginAt))
				args = append(args, u.TenantID, u.Login, strings.ToLower(u.Login), u.Email, strings.ToLower(u.Email), u.FirstName,
					u.LastName, searchText(u), string(u.Status), u.Locked, string(u.LoginMethod), u.WebAccess,
					string(u.Source), u.IdPSourced, u.PasswordHash, u.AutoLogin, toNanos(created), toNanos(now),
					toNanos(u.LastLoginAt))
				byLogin[[2]any{u.TenantID, strings.ToLower(u.Login)}] = u
			}
			if len(byLogin) != len(chunk) {
				return &lanyard.Error{Op: op, Kind: lanyard.KindConflict, Message: "a login appears twice among the users to create"}
			}
			type returned struct {
				id, tenant int64
				lower      string
			}
			var ids []returned
			err := tx.write(ctx, true, func(q querier) error {
				ids = ids[:0]
				rows, err := q.QueryContext(ctx,
					`INSERT INTO users (tenant_id, login, login_lower, email, email_lower, first_name, last_name,
						search_text, status, locked, login_method, web_access, source, idp_sourced, password_hash,
						auto_login, created_at, updated_at, last_login_at)
					VALUES `+values(len(chunk), 19)+` RETURNING id, tenant_id, login_lower`, args...)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var r returned
					if err := rows.Scan(&r.id, &r.tenant, &r.lower); err != nil {
						return err
					}
					ids = append(ids, r)
				}
				return rows.Err()
			})
			if err != nil {
				return tx.bulkUserError(op, err)
			}
			got := 0
			for _, r := range ids {
				if u := byLogin[[2]any{r.tenant, r.lower}]; u != nil {
					u.ID = r.id
					got++
				}
			}
			if got != len(chunk) {
				return fmt.Errorf("sqlstore: create users: %d IDs returned for %d users", got, len(chunk))
			}
			if err := tx.insertRolesBulk(ctx, chunk); err != nil {
				return err
			}
		}
		return nil
	})
}

// bulkUserError classifies the error of a multi-row user insert.
func (d *DB) bulkUserError(op string, err error) error {
	switch d.class(err) {
	case ErrorUnique:
		return conflict(err, op, "a login to create already exists in its tenant")
	case ErrorForeignKey:
		return invalid(err, op, "a tenant of the users does not exist")
	}
	return fmt.Errorf("sqlstore: create users: %w", err)
}

// insertRolesBulk grants the roles of users, a few hundred per statement.
func (d *DB) insertRolesBulk(ctx context.Context, users []*lanyard.User) error {
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := d.writer().ExecContext(ctx, `INSERT INTO user_roles (user_id, role, source) VALUES `+values(len(args)/3, 3), args...)
		args = args[:0]
		if err != nil {
			return fmt.Errorf("sqlstore: grant roles: %w", err)
		}
		return nil
	}
	for _, u := range users {
		for _, g := range u.Roles {
			args = append(args, u.ID, g.Role, string(g.Source))
			if len(args) >= d.bulkRows()*3 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// AppendAuditEvents inserts the events, a few hundred per statement.
func (d *DB) AppendAuditEvents(ctx context.Context, events []*lanyard.AuditEvent) error {
	return d.inTx(ctx, func(tx *DB) error {
		for start := 0; start < len(events); start += tx.bulkRows() {
			chunk := events[start:min(start+tx.bulkRows(), len(events))]
			args := make([]any, 0, len(chunk)*11)
			for _, e := range chunk {
				if e.Time.IsZero() {
					e.Time = tx.now()
				}
				e.Time = fromNanos(toNanos(e.Time))
				detail := ""
				if len(e.Detail) > 0 {
					detail = encodeDetail(e.Detail)
				}
				args = append(args, toNanos(e.Time), e.TenantID, e.Actor, e.Action, string(e.Outcome), e.Reason, e.UserID, e.Subject,
					e.ClientIP, e.Message, detail)
			}
			rows, err := tx.writer().QueryContext(ctx,
				`INSERT INTO audit_events (occurred_at, tenant_id, actor, action, outcome, reason, user_id, subject,
					client_ip, message, detail)
				VALUES `+values(len(chunk), 11)+` RETURNING id`, args...)
			if err != nil {
				return fmt.Errorf("sqlstore: append audit events: %w", err)
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("sqlstore: append audit events: %w", err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlstore: append audit events: %w", err)
			}
			if len(ids) != len(chunk) {
				return fmt.Errorf("sqlstore: append audit events: %d IDs for %d events", len(ids), len(chunk))
			}
			// IDs grow with insertion; RETURNING order is not promised, so
			// give them out in ascending order, which is the VALUES order.
			slices.Sort(ids)
			for i, e := range chunk {
				e.ID = ids[i]
			}
		}
		return nil
	})
}

// placeholders returns "$from, $from+1, ..." for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// UpdateUsers locks and reads the users a chunk at a time, applies fn and
// writes each user with one statement, the changed roles of a chunk with
// two.
func (d *DB) UpdateUsers(ctx context.Context, ids []int64, fn func(*lanyard.User) error) ([]lanyard.User, error) {
	const op = "sqlstore.UpdateUsers"
	var out []lanyard.User
	err := d.inTx(ctx, func(tx *DB) error {
		out = out[:0]
		q := tx.writer()
		sorted := slices.Clone(ids)
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
		for start := 0; start < len(sorted); start += tx.bulkRows() {
			chunk := sorted[start:min(start+tx.bulkRows(), len(sorted))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			in := placeholders(1, len(chunk))
			// Lock the rows first (in ID order, as every bulk update
			// does, so two of them cannot deadlock), then read them.
			rows, err := q.QueryContext(ctx, `SELECT id FROM users WHERE id IN (`+in+`) ORDER BY id`+tx.lockRow(), args...)
			if err != nil {
				return fmt.Errorf("sqlstore: update users: lock: %w", err)
			}
			found := 0
			for rows.Next() {
				found++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("sqlstore: update users: lock: %w", err)
			}
			if found != len(chunk) {
				return notFound(op, "%d of the users to update do not exist", len(chunk)-found)
			}
			users, err := tx.userQuery(ctx, q, nil, `users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.id IN (`+in+`) ORDER BY u.id`, args...)
			if err != nil {
				return fmt.Errorf("sqlstore: update users: read: %w", err)
			}
			var rolesChanged []*lanyard.User
			for i := range users {
				u := &users[i]
				before := slices.Clone(u.Roles)
				if err := tx.applyUserUpdate(u, fn); err != nil {
					return err
				}
				if _, err := tx.writeUser(ctx, q, u, 0); err != nil {
					return err
				}
				if !slices.Equal(before, u.Roles) {
					rolesChanged = append(rolesChanged, u)
				}
			}
			if len(rolesChanged) > 0 {
				del := make([]any, len(rolesChanged))
				for i, u := range rolesChanged {
					del[i] = u.ID
				}
				if _, err := q.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id IN (`+placeholders(1, len(del))+`)`, del...); err != nil {
					return fmt.Errorf("sqlstore: update users: roles: %w", err)
				}
				if err := tx.insertRolesBulk(ctx, rolesChanged); err != nil {
					return err
				}
			}
			out = append(out, users...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
