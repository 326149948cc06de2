package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

var _ lanyard.SCIMStore = (*DB)(nil)

// condKind is how a column compares.
type condKind int

const (
	kindFoldedText condKind = iota // text stored or compared lower-cased: values are lower-cased too
	kindExactText                  // text compared as is
	kindInt
	kindBool   // the column expression is a condition: true when it holds
	kindTime   // nanoseconds since the epoch
	kindMember // groups: EXISTS a membership of the user ID
)

type condColumn struct {
	expr string
	kind condKind
}

// The only columns a Cond reaches: a field missing from its resource's
// table is refused, so no name from a request ever reaches the SQL.
var (
	userCondColumns = map[lanyard.CondField]condColumn{
		lanyard.FieldID:         {`u.id`, kindInt},
		lanyard.FieldLogin:      {`u.login_lower`, kindFoldedText},
		lanyard.FieldEmail:      {`u.email_lower`, kindFoldedText},
		lanyard.FieldFirstName:  {`LOWER(u.first_name)`, kindFoldedText},
		lanyard.FieldLastName:   {`LOWER(u.last_name)`, kindFoldedText},
		lanyard.FieldActive:     {`u.status = 'active'`, kindBool},
		lanyard.FieldExternalID: {`COALESCE(p.external_id, '')`, kindExactText},
		lanyard.FieldCreated:    {`u.created_at`, kindTime},
		lanyard.FieldUpdated:    {`u.updated_at`, kindTime},
	}
	groupCondColumns = map[lanyard.CondField]condColumn{
		lanyard.FieldID:          {`g.id`, kindInt},
		lanyard.FieldDisplayName: {`g.display_name_lower`, kindFoldedText},
		lanyard.FieldExternalID:  {`g.external_id`, kindExactText},
		lanyard.FieldCreated:     {`g.created_at`, kindTime},
		lanyard.FieldUpdated:     {`g.updated_at`, kindTime},
		lanyard.FieldMember:      {`scim_group_members m WHERE m.group_id = g.id`, kindMember},
	}
)

// condCompiler turns a lanyard.Cond into SQL with bound parameters.
type condCompiler struct {
	byteOrder string
	columns   map[lanyard.CondField]condColumn
	args      []any
}

func (cc *condCompiler) bind(v any) string {
	cc.args = append(cc.args, v)
	return "$" + strconv.Itoa(len(cc.args))
}

func condInvalid(format string, args ...any) error {
	return &lanyard.Error{Kind: lanyard.KindInvalid, Op: "sqlstore.Cond", Message: fmt.Sprintf(format, args...)}
}

// maxCondDepth bounds the nesting of a condition (and the SQL it makes).
const maxCondDepth = 50

func (cc *condCompiler) compile(c *lanyard.Cond, depth int) (string, error) {
	if c == nil {
		return "1 = 1", nil
	}
	if depth > maxCondDepth {
		return "", condInvalid("filter nested deeper than %d levels", maxCondDepth)
	}
	switch c.Op {
	case lanyard.CondAnd, lanyard.CondOr:
		l, err := cc.compile(c.Left, depth+1)
		if err != nil {
			return "", err
		}
		r, err := cc.compile(c.Right, depth+1)
		if err != nil {
			return "", err
		}
		return "(" + l + ") " + strings.ToUpper(string(c.Op)) + " (" + r + ")", nil
	case lanyard.CondConst:
		if b, _ := c.Value.(bool); b {
			return "1 = 1", nil
		}
		return "1 = 0", nil
	case lanyard.CondNot:
		l, err := cc.compile(c.Left, depth+1)
		if err != nil {
			return "", err
		}
		return "NOT (" + l + ")", nil
	}
	col, ok := cc.columns[c.Field]
	if !ok {
		return "", condInvalid("attribute %q cannot be filtered on", c.Field)
	}
	switch col.kind {
	case kindBool:
		return cc.compileBool(c, col)
	case kindInt:
		return cc.compileInt(c, col)
	case kindTime:
		return cc.compileTime(c, col)
	case kindMember:
		return cc.compileMember(c, col)
	}
	return cc.compileText(c, col)
}

func (cc *condCompiler) compileText(c *lanyard.Cond, col condColumn) (string, error) {
	if c.Op == lanyard.CondPresent {
		return col.expr + " <> ''", nil
	}
	s, ok := c.Value.(string)
	if !ok {
		return "", condInvalid("%s %s: compare with a string", c.Field, c.Op)
	}
	if col.kind == kindFoldedText {
		s = strings.ToLower(s)
	}
	switch c.Op {
	case lanyard.CondEq:
		return col.expr + " = " + cc.bind(s), nil
	case lanyard.CondNe:
		return col.expr + " <> " + cc.bind(s), nil
	case lanyard.CondCo:
		return col.expr + " LIKE " + cc.bind("%"+likeEscape(s)+"%") + ` ESCAPE '\'`, nil
	case lanyard.CondSw:
		return col.expr + " LIKE " + cc.bind(likeEscape(s)+"%") + ` ESCAPE '\'`, nil
	case lanyard.CondEw:
		return col.expr + " LIKE " + cc.bind("%"+likeEscape(s)) + ` ESCAPE '\'`, nil
	}
	if sqlOp, ok := orderOps[c.Op]; ok {
		// Byte order on both engines, whatever the database's collation.
		return col.expr + cc.byteOrder + " " + sqlOp + " " + cc.bind(s), nil
	}
	return "", condInvalid("operator %q is not known", c.Op)
}

var orderOps = map[lanyard.CondOp]string{lanyard.CondGt: ">", lanyard.CondGe: ">=", lanyard.CondLt: "<", lanyard.CondLe: "<="}

func (cc *condCompiler) compileBool(c *lanyard.Cond, col condColumn) (string, error) {
	if c.Op == lanyard.CondPresent {
		return "1 = 1", nil
	}
	b, ok := c.Value.(bool)
	if !ok {
		return "", condInvalid("%s %s: compare with true or false", c.Field, c.Op)
	}
	switch c.Op {
	case lanyard.CondEq, lanyard.CondNe:
		if b == (c.Op == lanyard.CondEq) {
			return col.expr, nil
		}
		return "NOT (" + col.expr + ")", nil
	}
	return "", condInvalid("%s: a boolean takes eq, ne or pr, not %s", c.Field, c.Op)
}

func (cc *condCompiler) compileInt(c *lanyard.Cond, col condColumn) (string, error) {
	if c.Op == lanyard.CondPresent {
		return "1 = 1", nil
	}
	var n int64
	switch v := c.Value.(type) {
	case int64:
		n = v
	case string:
		parsed, err := strconv.ParseInt(v, 10, 64)
		if err != nil || parsed <= 0 {
			// No record has such an ID.
			switch c.Op {
			case lanyard.CondEq:
				return "1 = 0", nil
			case lanyard.CondNe:
				return "1 = 1", nil
			}
			return "", condInvalid("%s %s: %q is not an ID", c.Field, c.Op, v)
		}
		n = parsed
	default:
		return "", condInvalid("%s %s: compare with an ID", c.Field, c.Op)
	}
	switch c.Op {
	case lanyard.CondEq:
		return col.expr + " = " + cc.bind(n), nil
	case lanyard.CondNe:
		return col.expr + " <> " + cc.bind(n), nil
	}
	if sqlOp, ok := orderOps[c.Op]; ok {
		return col.expr + " " + sqlOp + " " + cc.bind(n), nil
	}
	return "", condInvalid("%s: an ID takes eq, ne, gt, ge, lt, le or pr, not %s", c.Field, c.Op)
}

func (cc *condCompiler) compileTime(c *lanyard.Cond, col condColumn) (string, error) {
	if c.Op == lanyard.CondPresent {
		return "1 = 1", nil
	}
	var at time.Time
	switch v := c.Value.(type) {
	case time.Time:
		at = v
	case string:
		parsed, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", condInvalid("%s %s: %q is not a dateTime (RFC 3339)", c.Field, c.Op, v)
		}
		at = parsed
	default:
		return "", condInvalid("%s %s: compare with a dateTime", c.Field, c.Op)
	}
	// Stored instants have microsecond precision (toNanos); compare at it.
	n := toNanos(at)
	switch c.Op {
	case lanyard.CondEq:
		return col.expr + " = " + cc.bind(n), nil
	case lanyard.CondNe:
		return col.expr + " <> " + cc.bind(n), nil
	}
	if sqlOp, ok := orderOps[c.Op]; ok {
		return col.expr + " " + sqlOp + " " + cc.bind(n), nil
	}
	return "", condInvalid("%s: a dateTime takes eq, ne, gt, ge, lt, le or pr, not %s", c.Field, c.Op)
}

func (cc *condCompiler) compileMember(c *lanyard.Cond, col condColumn) (string, error) {
	switch c.Op {
	case lanyard.CondPresent:
		return "EXISTS (SELECT 1 FROM " + col.expr + ")", nil
	case lanyard.CondEq, lanyard.CondNe:
	default:
		return "", condInvalid("%s: members take eq, ne or pr, not %s", c.Field, c.Op)
	}
	var n int64
	switch v := c.Value.(type) {
	case int64:
		n = v
	case string:
		n, _ = strconv.ParseInt(v, 10, 64) // not an ID: no member has it
	}
	cond := "EXISTS (SELECT 1 FROM " + col.expr + " AND m.user_id = " + cc.bind(n) + ")"
	if c.Op == lanyard.CondNe {
		return "NOT " + cond, nil
	}
	return cond, nil
}

// pageArgs appends LIMIT and OFFSET for p.
func (cc *condCompiler) page(p lanyard.SCIMPage) string {
	limit := int64(p.Limit)
	if limit < 0 {
		limit = 0
	}
	return " LIMIT " + cc.bind(limit) + " OFFSET " + cc.bind(int64(max(p.Offset, 0)))
}

// SCIMUsers lists a tenant's users matching c, by ID, one page of them,
// with their profiles and the count of all matches. The condition runs in
// the database, on indexed columns where it can.
func (d *DB) SCIMUsers(ctx context.Context, tenantID int64, c *lanyard.Cond, p lanyard.SCIMPage) ([]lanyard.User, []lanyard.SCIMProfile, int, error) {
	cc := &condCompiler{byteOrder: d.dialect.ByteOrder, columns: userCondColumns}
	tenant := cc.bind(tenantID)
	cond, err := cc.compile(c, 0)
	if err != nil {
		return nil, nil, 0, err
	}
	from := ` FROM users u LEFT JOIN scim_profiles p ON p.user_id = u.id WHERE u.tenant_id = ` + tenant + ` AND COALESCE(p.deleted, 0) = 0 AND (` + cond + `)`
	var total int
	if err := d.reader().QueryRowContext(ctx, `SELECT COUNT(*)`+from, cc.args...).Scan(&total); err != nil {
		return nil, nil, 0, fmt.Errorf("sqlstore: count SCIM users: %w", err)
	}
	if total == 0 || p.Limit == 0 {
		return nil, nil, total, nil
	}
	page := cc.page(p)
	users, err := d.userQuery(ctx, d.reader(), nil,
		`(SELECT u.*`+from+` ORDER BY u.id`+page+`) u LEFT JOIN user_roles r ON r.user_id = u.id ORDER BY u.id`, cc.args...)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("sqlstore: list SCIM users: %w", err)
	}
	profiles, err := d.scimProfiles(ctx, users)
	if err != nil {
		return nil, nil, 0, err
	}
	return users, profiles, total, nil
}

// scimProfiles reads the profiles of users, in their order.
func (d *DB) scimProfiles(ctx context.Context, users []lanyard.User) ([]lanyard.SCIMProfile, error) {
	out := make([]lanyard.SCIMProfile, len(users))
	if len(users) == 0 {
		return out, nil
	}
	index := map[int64]int{}
	ph := make([]string, len(users))
	args := make([]any, len(users))
	for i, u := range users {
		index[u.ID] = i
		out[i].UserID = u.ID
		ph[i] = "$" + strconv.Itoa(i+1)
		args[i] = u.ID
	}
	rows, err := d.reader().QueryContext(ctx,
		`SELECT user_id, external_id, attributes, deleted FROM scim_profiles WHERE user_id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read SCIM profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pr      lanyard.SCIMProfile
			deleted int64
		)
		if err := rows.Scan(&pr.UserID, &pr.ExternalID, &pr.Attributes, &deleted); err != nil {
			return nil, fmt.Errorf("sqlstore: read SCIM profiles: %w", err)
		}
		pr.Deleted = deleted != 0
		out[index[pr.UserID]] = pr
	}
	return out, rows.Err()
}

// SCIMProfile returns the SCIM profile of a user; empty when it has none.
func (d *DB) SCIMProfile(ctx context.Context, userID int64) (lanyard.SCIMProfile, error) {
	p := lanyard.SCIMProfile{UserID: userID}
	var deleted int64
	err := d.reader().QueryRowContext(ctx,
		`SELECT external_id, attributes, deleted FROM scim_profiles WHERE user_id = $1`, userID).Scan(&p.ExternalID, &p.Attributes, &deleted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sqlstore: read SCIM profile of user %d: %w", userID, err)
	}
	p.Deleted = deleted != 0
	return p, nil
}

// PutSCIMProfile inserts or replaces the profile of p.UserID.
func (d *DB) PutSCIMProfile(ctx context.Context, p lanyard.SCIMProfile) error {
	err := d.write(ctx, true, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO scim_profiles (user_id, external_id, attributes, deleted) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET external_id = excluded.external_id, attributes = excluded.attributes,
				deleted = excluded.deleted`,
			p.UserID, p.ExternalID, p.Attributes, boolInt(p.Deleted))
		return err
	})
	if err != nil {
		if d.class(err) == ErrorForeignKey {
			return notFound("sqlstore.PutSCIMProfile", "user %d not found", p.UserID)
		}
		return fmt.Errorf("sqlstore: write SCIM profile of user %d: %w", p.UserID, err)
	}
	return nil
}

// CreateSCIMGroup inserts g with its members. ErrConflict when the tenant
// has the display name (case-insensitively); ErrNotFound when a member is
// not a user of the tenant.
func (d *DB) CreateSCIMGroup(ctx context.Context, g *lanyard.SCIMGroup) error {
	const op = "sqlstore.CreateSCIMGroup"
	now := d.timestamp()
	return d.inTx(ctx, func(tx *DB) error {
		var id int64
		err := tx.write(ctx, true, func(q querier) error {
			return q.QueryRowContext(ctx,
				`INSERT INTO scim_groups (tenant_id, display_name, display_name_lower, external_id, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				g.TenantID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, toNanos(now), toNanos(now)).Scan(&id)
		})
		if err != nil {
			switch tx.class(err) {
			case ErrorUnique:
				return conflict(err, op, "group %q already exists in this tenant", g.DisplayName)
			case ErrorForeignKey:
				return invalid(err, op, "tenant %d does not exist", g.TenantID)
			}
			return fmt.Errorf("sqlstore: create SCIM group %q: %w", g.DisplayName, err)
		}
		if err := tx.addMembers(ctx, id, g.TenantID, g.Members); err != nil {
			return err
		}
		g.ID, g.CreatedAt, g.UpdatedAt = id, now, now
		return nil
	})
}

// addMembers adds users of the tenant to the group.
func (d *DB) addMembers(ctx context.Context, groupID, tenantID int64, users []int64) error {
	for _, uid := range users {
		res, err := d.writer().ExecContext(ctx,
			`INSERT INTO scim_group_members (group_id, user_id)
			SELECT $1, id FROM users WHERE id = $2 AND tenant_id = $3
			ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, uid, tenantID)
		if err != nil {
			return fmt.Errorf("sqlstore: add member %d to SCIM group %d: %w", uid, groupID, err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			var one int
			err := d.writer().QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2`, uid, tenantID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("sqlstore.SCIMGroupMembers", "user %d is not an account of this tenant", uid)
			}
			if err != nil {
				return fmt.Errorf("sqlstore: check member %d: %w", uid, err)
			}
		}
	}
	return nil
}

const groupColumns = `g.id, g.tenant_id, g.display_name, g.external_id, g.created_at, g.updated_at`

func scanGroup(r rowScanner) (lanyard.SCIMGroup, error) {
	var (
		g                lanyard.SCIMGroup
		created, updated int64
	)
	err := r.Scan(&g.ID, &g.TenantID, &g.DisplayName, &g.ExternalID, &created, &updated)
	g.CreatedAt, g.UpdatedAt = fromNanos(created), fromNanos(updated)
	return g, err
}

// SCIMGroup returns a tenant's group with its members. ErrNotFound.
func (d *DB) SCIMGroup(ctx context.Context, tenantID, id int64) (lanyard.SCIMGroup, error) {
	g, err := scanGroup(d.reader().QueryRowContext(ctx,
		`SELECT `+groupColumns+` FROM scim_groups g WHERE g.id = $1 AND g.tenant_id = $2`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return g, notFound("sqlstore.SCIMGroup", "group %d not found", id)
	}
	if err != nil {
		return g, fmt.Errorf("sqlstore: read SCIM group %d: %w", id, err)
	}
	gs := []lanyard.SCIMGroup{g}
	if err := d.loadMembers(ctx, gs); err != nil {
		return g, err
	}
	return gs[0], nil
}

// loadMembers fills the members of groups.
func (d *DB) loadMembers(ctx context.Context, gs []lanyard.SCIMGroup) error {
	if len(gs) == 0 {
		return nil
	}
	index := map[int64]int{}
	ph := make([]string, len(gs))
	args := make([]any, len(gs))
	for i, g := range gs {
		index[g.ID] = i
		ph[i] = "$" + strconv.Itoa(i+1)
		args[i] = g.ID
	}
	rows, err := d.reader().QueryContext(ctx,
		`SELECT group_id, user_id FROM scim_group_members WHERE group_id IN (`+strings.Join(ph, ", ")+`) ORDER BY group_id, user_id`, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: read SCIM group members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid, uid int64
		if err := rows.Scan(&gid, &uid); err != nil {
			return fmt.Errorf("sqlstore: read SCIM group members: %w", err)
		}
		gs[index[gid]].Members = append(gs[index[gid]].Members, uid)
	}
	return rows.Err()
}

// SCIMGroups lists a tenant's groups matching c, one page, by ID.
func (d *DB) SCIMGroups(ctx context.Context, tenantID int64, c *lanyard.Cond, p lanyard.SCIMPage) ([]lanyard.SCIMGroup, int, error) {
	cc := &condCompiler{byteOrder: d.dialect.ByteOrder, columns: groupCondColumns}
	tenant := cc.bind(tenantID)
	cond, err := cc.compile(c, 0)
	if err != nil {
		return nil, 0, err
	}
	from := ` FROM scim_groups g WHERE g.tenant_id = ` + tenant + ` AND (` + cond + `)`
	var total int
	if err := d.reader().QueryRowContext(ctx, `SELECT COUNT(*)`+from, cc.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: count SCIM groups: %w", err)
	}
	if total == 0 || p.Limit == 0 {
		return nil, total, nil
	}
	page := cc.page(p)
	rows, err := d.reader().QueryContext(ctx, `SELECT `+groupColumns+from+` ORDER BY g.id`+page, cc.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list SCIM groups: %w", err)
	}
	var out []lanyard.SCIMGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("sqlstore: list SCIM groups: %w", err)
		}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if err := d.loadMembers(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateSCIMGroup writes the display name and external ID of g.
func (d *DB) UpdateSCIMGroup(ctx context.Context, g *lanyard.SCIMGroup) error {
	const op = "sqlstore.UpdateSCIMGroup"
	now := d.timestamp()
	var n int
	err := d.write(ctx, true, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE scim_groups SET display_name = $1, display_name_lower = $2, external_id = $3, updated_at = $4
			WHERE id = $5 AND tenant_id = $6`,
			g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, toNanos(now), g.ID, g.TenantID)
		if err != nil {
			return err
		}
		n, err = rowsAffected(res)
		return err
	})
	if err != nil {
		if d.class(err) == ErrorUnique {
			return conflict(err, op, "group %q already exists in this tenant", g.DisplayName)
		}
		return fmt.Errorf("sqlstore: update SCIM group %d: %w", g.ID, err)
	}
	if n == 0 {
		return notFound(op, "group %d not found", g.ID)
	}
	g.UpdatedAt = now
	return nil
}

// ChangeSCIMGroupMembers adds and removes members of a group.
func (d *DB) ChangeSCIMGroupMembers(ctx context.Context, groupID int64, add, remove []int64) error {
	const op = "sqlstore.ChangeSCIMGroupMembers"
	return d.inTx(ctx, func(tx *DB) error {
		var tenantID int64
		err := tx.writer().QueryRowContext(ctx,
			`UPDATE scim_groups SET updated_at = $1 WHERE id = $2 RETURNING tenant_id`,
			toNanos(tx.timestamp()), groupID).Scan(&tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "group %d not found", groupID)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: change SCIM group %d: %w", groupID, err)
		}
		for _, uid := range remove {
			if _, err := tx.writer().ExecContext(ctx,
				`DELETE FROM scim_group_members WHERE group_id = $1 AND user_id = $2`, groupID, uid); err != nil {
				return fmt.Errorf("sqlstore: remove member %d of SCIM group %d: %w", uid, groupID, err)
			}
		}
		return tx.addMembers(ctx, groupID, tenantID, add)
	})
}

// DeleteSCIMGroup removes a tenant's group and its memberships.
func (d *DB) DeleteSCIMGroup(ctx context.Context, tenantID, id int64) error {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM scim_groups WHERE id = $1 AND tenant_id = $2`, id, tenantID)
	if err != nil {
		return fmt.Errorf("sqlstore: delete SCIM group %d: %w", id, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return err
	} else if n == 0 {
		return notFound("sqlstore.DeleteSCIMGroup", "group %d not found", id)
	}
	return nil
}

// SCIMGroupsOfUser lists the groups the user is a member of, by name
// (members not filled).
func (d *DB) SCIMGroupsOfUser(ctx context.Context, userID int64) ([]lanyard.SCIMGroup, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT `+groupColumns+` FROM scim_groups g JOIN scim_group_members m ON m.group_id = g.id
		WHERE m.user_id = $1 ORDER BY g.display_name_lower, g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read SCIM groups of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []lanyard.SCIMGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read SCIM groups of user %d: %w", userID, err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
