package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// userColumns are the columns of users read into a lanyard.User, qualified
// with the alias u.
const userColumns = `u.id, u.tenant_id, u.login, u.email, u.first_name, u.last_name, u.status, u.locked,
	u.login_method, u.web_access, u.source, u.idp_sourced, u.password_hash, u.auto_login,
	u.created_at, u.updated_at, u.last_login_at, u.version`

func scanUser(r rowScanner, version *int64, extra ...any) (lanyard.User, error) {
	var (
		u lanyard.User
		v userScan
	)
	if err := r.Scan(append(v.dest(&u, version), extra...)...); err != nil {
		return u, err
	}
	v.finish(&u)
	return u, nil
}

// searchText is what UserFilter.Query searches: the login, email and names,
// lower-cased, separated by the unit separator (PostgreSQL text holds no NUL).
func searchText(u *lanyard.User) string {
	return strings.ToLower(u.Login + "\x1f" + u.Email + "\x1f" + u.FirstName + "\x1f" + u.LastName)
}

// normalizeUserRoles makes u's roles what the store will read back.
func normalizeUserRoles(u *lanyard.User) {
	u.Roles = lanyard.NormalizeRoles(u.Roles)
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
}

// CreateUser inserts u with its roles and sets ID and timestamps (CreatedAt
// is kept when set). Roles are normalized (lanyard.NormalizeRoles).
// ErrConflict when the tenant already has the login, case-insensitively;
// a conflict writes nothing, also inside a transaction, which may go on
// (the insert skips a duplicate instead of failing, so no savepoint is
// needed: a login that creates an account makes no extra round trips).
// Any other error inside a transaction leaves it to be rolled back.
func (d *DB) CreateUser(ctx context.Context, u *lanyard.User) error {
	const op = "sqlstore.CreateUser"
	normalizeUserRoles(u)
	now := d.timestamp()
	created := now
	if !u.CreatedAt.IsZero() {
		created = fromNanos(toNanos(u.CreatedAt))
	}
	var id int64
	args := []any{u.TenantID, u.Login, strings.ToLower(u.Login), u.Email, strings.ToLower(u.Email), u.FirstName,
		u.LastName, searchText(u), string(u.Status), u.Locked, string(u.LoginMethod), u.WebAccess,
		string(u.Source), u.IdPSourced, u.PasswordHash, u.AutoLogin, toNanos(created), toNanos(now),
		toNanos(u.LastLoginAt)}
	query := insertUserSQL
	// Where a WITH clause may insert, the roles go in the same statement
	// as the account: one round trip fewer for a login that creates one.
	withRoles := d.dialect.WritingCTE && d.dialect.ArrayParams && len(u.Roles) > 0
	if withRoles {
		roles, sources := make([]string, len(u.Roles)), make([]string, len(u.Roles))
		for i, g := range u.Roles {
			roles[i], sources[i] = g.Role, string(g.Source)
		}
		args = append(args, roles, sources)
		query = `WITH u AS (` + insertUserSQL + `),
			r AS (INSERT INTO user_roles (user_id, role, source)
				SELECT u.id, x.role, x.source FROM u, unnest($20::text[], $21::text[]) AS x (role, source))
			SELECT id FROM u`
	}
	insertUser := func(q querier) error {
		err := q.QueryRowContext(ctx, query, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// The only unique key a new row can repeat is the login's.
			return conflict(errDuplicateSkipped, op, "login %q already exists in this tenant", u.Login)
		}
		if err != nil {
			switch d.class(err) {
			case ErrorUnique:
				return conflict(err, op, "login %q already exists in this tenant", u.Login)
			case ErrorForeignKey:
				return invalid(err, op, "tenant %d does not exist", u.TenantID)
			}
			return fmt.Errorf("sqlstore: create user %q: %w", u.Login, err)
		}
		return nil
	}
	insert := func(tx *DB) error {
		if err := insertUser(tx.writer()); err != nil {
			return err
		}
		if len(u.Roles) == 0 || withRoles {
			return nil
		}
		withID := *u
		withID.ID = id
		return tx.insertRolesBulk(ctx, []*lanyard.User{&withID})
	}
	var err error
	switch {
	case d.tx != nil:
		// The caller's transaction: a conflict is found by the first
		// statement, before anything is written.
		err = insert(d)
	case len(u.Roles) == 0 || withRoles:
		// One statement: no transaction needed.
		err = d.write(ctx, false, insertUser)
	default:
		err = d.inTx(ctx, insert)
	}
	if err != nil {
		return err
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, now
	u.LastLoginAt = fromNanos(toNanos(u.LastLoginAt))
	return nil
}

// CreateLinkedUser creates u and links l to it. See
// lanyard.LinkedUserCreator. Where a WITH clause may insert (PostgreSQL)
// the account, its roles and the link are one statement.
func (d *DB) CreateLinkedUser(ctx context.Context, u *lanyard.User, l lanyard.Link) (bool, error) {
	if !d.dialect.WritingCTE || !d.dialect.ArrayParams {
		var linked bool
		// Both writes skip a duplicate rather than fail, so inside a
		// transaction they need no savepoint.
		both := func(tx *DB) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			l.UserID = u.ID
			err := tx.LinkUser(ctx, l)
			linked = err == nil
			if errors.Is(err, lanyard.ErrConflict) {
				err = nil
			}
			return err
		}
		if d.tx != nil {
			return linked, both(d)
		}
		err := d.inTx(ctx, both)
		return linked, err
	}
	const op = "sqlstore.CreateLinkedUser"
	normalizeUserRoles(u)
	now := d.timestamp()
	created := now
	if !u.CreatedAt.IsZero() {
		created = fromNanos(toNanos(u.CreatedAt))
	}
	linkCreated := created
	if !l.CreatedAt.IsZero() {
		linkCreated = fromNanos(toNanos(l.CreatedAt))
	}
	roles, sources := make([]string, len(u.Roles)), make([]string, len(u.Roles))
	for i, g := range u.Roles {
		roles[i], sources[i] = g.Role, string(g.Source)
	}
	var (
		id     int64
		linked bool
	)
	err := d.write(ctx, false, func(q querier) error {
		return q.QueryRowContext(ctx, `WITH u AS (`+insertUserSQL+`),
			r AS (INSERT INTO user_roles (user_id, role, source)
				SELECT u.id, x.role, x.source FROM u, unnest($20::text[], $21::text[]) AS x (role, source)),
			l AS (INSERT INTO user_links (tenant_id, idp_entity_id, name_id, user_id, name_id_format, created_at)
				SELECT $22, $23, $24, u.id, $25, $26 FROM u
				ON CONFLICT DO NOTHING
				RETURNING 1)
			SELECT u.id, EXISTS (SELECT 1 FROM l) FROM u`,
			u.TenantID, u.Login, strings.ToLower(u.Login), u.Email, strings.ToLower(u.Email), u.FirstName,
			u.LastName, searchText(u), string(u.Status), u.Locked, string(u.LoginMethod), u.WebAccess,
			string(u.Source), u.IdPSourced, u.PasswordHash, u.AutoLogin, toNanos(created), toNanos(now),
			toNanos(u.LastLoginAt), roles, sources,
			l.TenantID, l.IdPEntityID, l.NameID, l.NameIDFormat, toNanos(linkCreated)).Scan(&id, &linked)
	})
	if errors.Is(err, sql.ErrNoRows) {
		// The only unique key a new account can repeat is its login's.
		return false, conflict(errDuplicateSkipped, op, "login %q already exists in this tenant", u.Login)
	}
	if err != nil {
		switch d.class(err) {
		case ErrorUnique:
			return false, conflict(err, op, "login %q already exists in this tenant", u.Login)
		case ErrorForeignKey:
			return false, invalid(err, op, "tenant %d does not exist", u.TenantID)
		}
		return false, fmt.Errorf("sqlstore: create user %q with link: %w", u.Login, err)
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, now
	u.LastLoginAt = fromNanos(toNanos(u.LastLoginAt))
	return linked, nil
}

// insertUserSQL inserts an account and returns its ID, or no row when the
// tenant has its login already.
const insertUserSQL = `INSERT INTO users (tenant_id, login, login_lower, email, email_lower, first_name, last_name,
		search_text, status, locked, login_method, web_access, source, idp_sourced, password_hash,
		auto_login, created_at, updated_at, last_login_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
	ON CONFLICT DO NOTHING
	RETURNING id`

// errDuplicateSkipped is the cause of a conflict found by an insert that
// skips a row whose unique key exists (ON CONFLICT DO NOTHING).
var errDuplicateSkipped = errors.New("a row with the same unique key exists")

// userQuery reads users with their roles in a single query: one row per
// role (or one row with NULL role for a user without roles). When versions
// is not nil, it receives the row version of each user.
func (d *DB) userQuery(ctx context.Context, q querier, versions *[]int64, from string, args ...any) ([]lanyard.User, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+userColumns+`, r.role, r.source FROM `+from, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []lanyard.User
	for rows.Next() {
		var (
			role, source sql.NullString
			version      int64
		)
		u, err := scanUser(rows, &version, &role, &source)
		if err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != u.ID {
			out = append(out, u)
			if versions != nil {
				*versions = append(*versions, version)
			}
		}
		if role.Valid {
			last := &out[len(out)-1]
			last.Roles = append(last.Roles, lanyard.RoleGrant{Role: role.String, Source: lanyard.RoleSource(source.String)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Sort in Go: SQL collations differ between engines and locales.
	for i := range out {
		normalizeUserRoles(&out[i])
	}
	return out, nil
}

// oneUser reads the single user selected by cond (on alias u).
func (d *DB) oneUser(ctx context.Context, q querier, cond string, args ...any) (lanyard.User, bool, error) {
	u, _, ok, err := d.oneUserVersion(ctx, q, cond, args...)
	return u, ok, err
}

// oneUserVersion is oneUser that also returns the row version.
func (d *DB) oneUserVersion(ctx context.Context, q querier, cond string, args ...any) (lanyard.User, int64, bool, error) {
	var versions []int64
	us, err := d.userQuery(ctx, q, &versions,
		`users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE `+cond+``, args...)
	if err != nil || len(us) == 0 {
		return lanyard.User{}, 0, false, err
	}
	return us[0], versions[0], true, nil
}

// User returns the user with the ID. ErrNotFound.
func (d *DB) User(ctx context.Context, id int64) (lanyard.User, error) {
	u, ok, err := d.oneUser(ctx, d.reader(), `u.id = $1`, id)
	if err != nil {
		return u, fmt.Errorf("sqlstore: read user %d: %w", id, err)
	}
	if !ok {
		return u, notFound("sqlstore.User", "user %d not found", id)
	}
	return u, nil
}

// UserByLogin finds a tenant's user by login, case-insensitively. ErrNotFound.
func (d *DB) UserByLogin(ctx context.Context, tenantID int64, login string) (lanyard.User, error) {
	u, ok, err := d.oneUser(ctx, d.reader(), `u.tenant_id = $1 AND u.login_lower = $2`,
		tenantID, strings.ToLower(strings.TrimSpace(login)))
	if err != nil {
		return u, fmt.Errorf("sqlstore: read user %q: %w", login, err)
	}
	if !ok {
		return u, notFound("sqlstore.UserByLogin", "user %q not found", login)
	}
	return u, nil
}

// UserByLink finds the user linked to the identity. ErrNotFound.
func (d *DB) UserByLink(ctx context.Context, tenantID int64, idpEntityID, nameID string) (lanyard.User, error) {
	u, ok, err := d.oneUser(ctx, d.reader(),
		`u.id = (SELECT user_id FROM user_links WHERE tenant_id = $1 AND idp_entity_id = $2 AND name_id = $3)`,
		tenantID, idpEntityID, nameID)
	if err != nil {
		return u, fmt.Errorf("sqlstore: read user by link: %w", err)
	}
	if !ok {
		return u, notFound("sqlstore.UserByLink", "no account is linked to %q", nameID)
	}
	return u, nil
}

// UserByLinkOrLogin finds an account as a login looks for it, in one
// query: the user linked to the identity, else the tenant's user with the
// login, case-insensitively. byLink tells which of the two it is. A login
// of a new person misses both; read apart, that was two round trips.
// ErrNotFound.
//
// In a transaction that deferred its replay mark (MarkAssertionUsed), the
// same statement makes the mark: ErrReplayed when it finds a replay.
func (d *DB) UserByLinkOrLogin(ctx context.Context, tenantID int64, idpEntityID, nameID, login string) (u lanyard.User, byLink bool, err error) {
	query, args := userByLinkOrLoginSQL, []any{tenantID, idpEntityID, nameID, strings.ToLower(strings.TrimSpace(login))}
	mark, marking := d.replay.take()
	if marking {
		query, args = replayMarkCTE+userByLinkOrLoginSQL, append(args, mark.id, mark.expires, mark.now)
	}
	failed := func(err error) error {
		if marking && d.class(err) == ErrorUnique {
			return replayed(mark.id)
		}
		return fmt.Errorf("sqlstore: read user by link or login: %w", err)
	}
	rows, err := d.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return u, false, failed(err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var (
			role, source sql.NullString
			linked       sql.NullInt64
			version      int64
		)
		row, err := scanUser(rows, &version, &role, &source, &linked)
		if err != nil {
			return lanyard.User{}, false, failed(err)
		}
		if !found {
			u, byLink, found = row, linked.Valid, true
		}
		if role.Valid {
			u.Roles = append(u.Roles, lanyard.RoleGrant{Role: role.String, Source: lanyard.RoleSource(source.String)})
		}
	}
	if err := rows.Err(); err != nil {
		return lanyard.User{}, false, failed(err)
	}
	if !found {
		return lanyard.User{}, false, notFound("sqlstore.UserByLinkOrLogin", "no account is linked to %q or has the login %q", nameID, login)
	}
	normalizeUserRoles(&u)
	return u, byLink, nil
}

// userByLinkOrLoginSQL reads the account linked to ($2, $3) in tenant $1,
// else the one with the login $4, with its roles, one row per role.
const userByLinkOrLoginSQL = `SELECT ` + userColumns + `, r.role, r.source, l.user_id
	FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
	LEFT JOIN user_links l ON l.tenant_id = $1 AND l.idp_entity_id = $2 AND l.name_id = $3 AND l.user_id = u.id
	WHERE u.id = COALESCE(
		(SELECT user_id FROM user_links WHERE tenant_id = $1 AND idp_entity_id = $2 AND name_id = $3),
		(SELECT id FROM users WHERE tenant_id = $1 AND login_lower = $4))`

// UsersByEmail lists a tenant's users with the email, case-insensitively,
// by login.
func (d *DB) UsersByEmail(ctx context.Context, tenantID int64, email string) ([]lanyard.User, error) {
	us, err := d.userQuery(ctx, d.reader(), nil, usersByEmailFrom, tenantID, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read users by email: %w", err)
	}
	slices.SortFunc(us, func(a, b lanyard.User) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Login), strings.ToLower(b.Login)), cmp.Compare(a.ID, b.ID))
	})
	return us, nil
}

// usersByEmailFrom selects the users of tenant $1 with the email $2, in
// the order of their IDs, which keeps each one's rows together. Ordered by
// login, SQLite (which keeps no statistics) read the tenant's accounts in
// the order of the login index, to skip a sort, instead of finding the few
// with the email; they are sorted by login in Go.
const usersByEmailFrom = `users u LEFT JOIN user_roles r ON r.user_id = u.id
		WHERE u.tenant_id = $1 AND u.email_lower = $2 ORDER BY u.id`

// UsersBySignInName lists the users of every tenant whose login or email
// is name, case-insensitively, by tenant and login; at most limit of them.
// One indexed query, whatever the number of tenants.
func (d *DB) UsersBySignInName(ctx context.Context, name string, limit int) ([]lanyard.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	us, err := d.userQuery(ctx, d.reader(), nil,
		`users u LEFT JOIN user_roles r ON r.user_id = u.id
		WHERE u.id IN (SELECT id FROM users WHERE login_lower = $1
			UNION SELECT id FROM users WHERE email_lower = $1 ORDER BY id LIMIT $2)
		ORDER BY u.tenant_id, u.login_lower, u.id`, name, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read users by sign-in name: %w", err)
	}
	return us, nil
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; each %d in cond becomes the placeholder of the
// next argument.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "%d", fmt.Sprint(len(w.args))))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeEscape escapes the LIKE wildcards of s for ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func userFilter(f lanyard.UserFilter) *where {
	w := &where{}
	if f.TenantID != 0 {
		w.add(`u.tenant_id = $%d`, f.TenantID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(`u.search_text LIKE $%d ESCAPE '\'`, "%"+likeEscape(strings.ToLower(q))+"%")
	}
	if f.Status != "" {
		w.add(`u.status = $%d`, string(f.Status))
	}
	if f.Source != "" {
		w.add(`u.source = $%d`, string(f.Source))
	}
	if f.LoginMethod != "" {
		w.add(`u.login_method = $%d`, string(f.LoginMethod))
	}
	if f.Role != "" {
		w.add(`EXISTS (SELECT 1 FROM user_roles fr WHERE fr.user_id = u.id AND fr.role = $%d)`, f.Role)
	}
	return w
}

// Users lists users matching f, ordered by tenant and login
// (case-insensitively), with their roles.
func (d *DB) Users(ctx context.Context, f lanyard.UserFilter) ([]lanyard.User, error) {
	w := userFilter(f)
	page := ""
	if f.Limit > 0 {
		w.args = append(w.args, f.Limit)
		page = fmt.Sprintf(" LIMIT $%d", len(w.args))
	}
	if f.Offset > 0 {
		if f.Limit <= 0 {
			// Both engines need a LIMIT before OFFSET; -1 is unlimited on
			// SQLite, NULL on PostgreSQL, so use the largest count instead.
			w.args = append(w.args, int64(1<<62))
			page = fmt.Sprintf(" LIMIT $%d", len(w.args))
		}
		w.args = append(w.args, f.Offset)
		page += fmt.Sprintf(" OFFSET $%d", len(w.args))
	}
	// The page of users is chosen in a subquery, then joined with the roles.
	us, err := d.userQuery(ctx, d.reader(), nil,
		`(SELECT * FROM users u`+w.String()+` ORDER BY u.tenant_id, u.login_lower, u.id`+page+`) u
		LEFT JOIN user_roles r ON r.user_id = u.id
		ORDER BY u.tenant_id, u.login_lower, u.id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	return us, nil
}

// CountUsers counts users matching f (Limit and Offset ignored).
func (d *DB) CountUsers(ctx context.Context, f lanyard.UserFilter) (int, error) {
	w := userFilter(f)
	var n int
	if err := d.reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM users u`+w.String(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count users: %w", err)
	}
	return n, nil
}

// UpdateUser reads the user, applies fn and writes the result, roles
// included, as one atomic change; fn may run more than once. The ID, tenant
// and CreatedAt are kept; UpdatedAt is set. ErrNotFound; ErrConflict when
// the new login is taken.
//
// Outside a transaction, a change that keeps the roles (such as recording
// a login) is written optimistically: the user is read without a lock and
// written back only if its row version has not moved meanwhile, else read
// again. That takes two statements instead of a transaction of five.
func (d *DB) UpdateUser(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, error) {
	if d.tx == nil {
	optimistic:
		for attempt := 0; attempt < maxAttempts; attempt++ {
			u, outcome, err := d.updateUserOptimistic(ctx, id, fn)
			switch {
			case err != nil:
				return lanyard.User{}, err
			case outcome == written:
				return u, nil
			case outcome == needsTx:
				break optimistic
			}
			// The row moved between read and write: read it again.
		}
	}
	var out lanyard.User
	err := d.inTx(ctx, func(tx *DB) error {
		var err error
		out, err = tx.updateUserLocked(ctx, id, fn)
		return err
	})
	if err != nil {
		return lanyard.User{}, err
	}
	return out, nil
}

// Outcomes of an optimistic update.
const (
	written = iota // the update is written
	moved          // the row changed between read and write: try again
	needsTx        // the roles change: use a transaction
)

// updateUserOptimistic tries one optimistic update.
func (d *DB) updateUserOptimistic(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, int, error) {
	const op = "sqlstore.UpdateUser"
	u, version, ok, err := d.oneUserVersion(ctx, d.reader(), `u.id = $1`, id)
	if err != nil {
		return lanyard.User{}, 0, fmt.Errorf("sqlstore: update user %d: %w", id, err)
	}
	if !ok {
		return lanyard.User{}, 0, notFound(op, "user %d not found", id)
	}
	before := slices.Clone(u.Roles)
	if err := d.applyUserUpdate(&u, fn); err != nil {
		return lanyard.User{}, 0, err
	}
	if !slices.Equal(before, u.Roles) {
		return lanyard.User{}, needsTx, nil
	}
	n, err := d.writeUser(ctx, d.writer(), &u, version)
	if err != nil {
		return lanyard.User{}, 0, err
	}
	if n == 0 {
		return lanyard.User{}, moved, nil
	}
	return u, written, nil
}

// updateUserLocked updates the user in d's transaction, with the row locked.
func (d *DB) updateUserLocked(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, error) {
	const op = "sqlstore.UpdateUser"
	q := d.writer()
	// Lock the user row first, then read it with its roles.
	var locked int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1`+d.lockRow(), id).Scan(&locked)
	if errors.Is(err, sql.ErrNoRows) {
		return lanyard.User{}, notFound(op, "user %d not found", id)
	}
	if err != nil {
		return lanyard.User{}, fmt.Errorf("sqlstore: update user %d: %w", id, err)
	}
	u, _, err := d.oneUser(ctx, q, `u.id = $1`, id)
	if err != nil {
		return lanyard.User{}, fmt.Errorf("sqlstore: update user %d: %w", id, err)
	}
	before := slices.Clone(u.Roles)
	if err := d.applyUserUpdate(&u, fn); err != nil {
		return lanyard.User{}, err
	}
	if _, err := d.writeUser(ctx, q, &u, 0); err != nil {
		return lanyard.User{}, err
	}
	if !slices.Equal(before, u.Roles) {
		if _, err := q.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1`, id); err != nil {
			return lanyard.User{}, fmt.Errorf("sqlstore: update user %d roles: %w", id, err)
		}
		withID := u
		withID.ID = id
		if err := d.insertRolesBulk(ctx, []*lanyard.User{&withID}); err != nil {
			return lanyard.User{}, err
		}
	}
	return u, nil
}

// applyUserUpdate runs fn on u and restores what fn may not change.
func (d *DB) applyUserUpdate(u *lanyard.User, fn func(*lanyard.User) error) error {
	id, tenantID, created := u.ID, u.TenantID, u.CreatedAt
	if err := fn(u); err != nil {
		return err
	}
	u.ID, u.TenantID, u.CreatedAt, u.UpdatedAt = id, tenantID, created, d.timestamp()
	u.LastLoginAt = fromNanos(toNanos(u.LastLoginAt))
	normalizeUserRoles(u)
	return nil
}

// writeUser writes the fields of u (not its roles) and reports how many
// rows changed. A non-zero version makes the write conditional: it changes
// nothing when the row's version differs.
func (d *DB) writeUser(ctx context.Context, q querier, u *lanyard.User, version int64) (int, error) {
	const op = "sqlstore.UpdateUser"
	query := `UPDATE users SET login = $1, login_lower = $2, email = $3, email_lower = $4, first_name = $5,
			last_name = $6, search_text = $7, status = $8, locked = $9, login_method = $10, web_access = $11,
			source = $12, idp_sourced = $13, password_hash = $14, auto_login = $15, updated_at = $16,
			last_login_at = $17, version = version + 1
		WHERE id = $18`
	args := []any{u.Login, strings.ToLower(u.Login), u.Email, strings.ToLower(u.Email), u.FirstName, u.LastName,
		searchText(u), string(u.Status), u.Locked, string(u.LoginMethod), u.WebAccess, string(u.Source),
		u.IdPSourced, u.PasswordHash, u.AutoLogin, toNanos(u.UpdatedAt), toNanos(u.LastLoginAt), u.ID}
	if version != 0 {
		query += ` AND version = $19`
		args = append(args, version)
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		if d.class(err) == ErrorUnique {
			return 0, conflict(err, op, "login %q already exists in this tenant", u.Login)
		}
		return 0, fmt.Errorf("sqlstore: update user %d: %w", u.ID, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: update user %d: %w", u.ID, err)
	}
	return n, nil
}

// DeleteUser removes the user with its links, roles, sessions and tokens
// (the schema cascades). Audit events keep the user's ID. ErrNotFound.
func (d *DB) DeleteUser(ctx context.Context, id int64) error {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete user %d: %w", id, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return fmt.Errorf("sqlstore: delete user %d: %w", id, err)
	} else if n == 0 {
		return notFound("sqlstore.DeleteUser", "user %d not found", id)
	}
	return nil
}

// LinkUser records that the IdP identity belongs to the user.
// ErrConflict when the identity is already linked (to anyone); the
// conflict writes nothing, and a transaction may go on after it.
func (d *DB) LinkUser(ctx context.Context, l lanyard.Link) error {
	const op = "sqlstore.LinkUser"
	created := l.CreatedAt
	if created.IsZero() {
		created = d.timestamp()
	}
	// A linked identity is skipped, not refused by an error, so that a
	// transaction goes on after a conflict without a savepoint.
	var inserted int64
	err := d.write(ctx, false, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`INSERT INTO user_links (tenant_id, idp_entity_id, name_id, user_id, name_id_format, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`,
			l.TenantID, l.IdPEntityID, l.NameID, l.UserID, l.NameIDFormat, toNanos(created))
		if err != nil {
			return err
		}
		inserted, err = res.RowsAffected()
		return err
	})
	if err == nil && inserted == 0 {
		return conflict(errDuplicateSkipped, op, "identity %q of %q is already linked to an account", l.NameID, l.IdPEntityID)
	}
	if err != nil {
		switch d.class(err) {
		case ErrorUnique:
			return conflict(err, op, "identity %q of %q is already linked to an account", l.NameID, l.IdPEntityID)
		case ErrorForeignKey:
			return invalid(err, op, "user %d or tenant %d does not exist", l.UserID, l.TenantID)
		}
		return fmt.Errorf("sqlstore: link user %d: %w", l.UserID, err)
	}
	return nil
}

// Links lists the identities linked to a user, oldest first.
func (d *DB) Links(ctx context.Context, userID int64) ([]lanyard.Link, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT tenant_id, user_id, idp_entity_id, name_id, name_id_format, created_at
		FROM user_links WHERE user_id = $1 ORDER BY created_at, idp_entity_id, name_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list links: %w", err)
	}
	defer rows.Close()
	var out []lanyard.Link
	for rows.Next() {
		var (
			l       lanyard.Link
			created int64
		)
		if err := rows.Scan(&l.TenantID, &l.UserID, &l.IdPEntityID, &l.NameID, &l.NameIDFormat, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: list links: %w", err)
		}
		l.CreatedAt = fromNanos(created)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list links: %w", err)
	}
	return out, nil
}

// Roles lists the distinct role names in use in a tenant, sorted.
func (d *DB) Roles(ctx context.Context, tenantID int64) ([]string, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT DISTINCT r.role FROM user_roles r JOIN users u ON u.id = r.user_id
		WHERE u.tenant_id = $1 ORDER BY r.role`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list roles: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("sqlstore: list roles: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list roles: %w", err)
	}
	return out, nil
}
