package lanyard

import (
	"context"
	"fmt"
	"time"
)

// SourceSCIM marks accounts created and kept by a SCIM client (Okta, Entra
// ID...) pushing into the tenant's /scim/v2/ service.
const SourceSCIM UserSource = "scim"

// RoleSCIM marks roles granted through SCIM group membership (groups map to
// roles with the tenant's group_roles mapping, as IdP groups do).
const RoleSCIM RoleSource = "scim"

// ScopeSCIM allows the SCIM service of one tenant and nothing else: a token
// holding it holds no other scope, and belongs to a tenant.
const ScopeSCIM = "scim"

// SCIM deprovisioning policies: what DELETE /Users/{id} does.
const (
	// SCIMDeleteDeactivates keeps the account, inactive (the default).
	SCIMDeleteDeactivates = "deactivate"
	// SCIMDeleteDeletes removes the account.
	SCIMDeleteDeletes = "delete"
)

// SCIMProfile is what SCIM keeps of a user beyond the account's own
// fields: the client's externalId and the attributes Lanyard stores but
// does not use (displayName, phone numbers, the enterprise extension...),
// as a JSON object.
type SCIMProfile struct {
	UserID     int64
	ExternalID string
	Attributes string // JSON object; empty: none
	// Deleted: the client deleted the user while the tenant keeps
	// deleted accounts (inactive); SCIM no longer lists it.
	Deleted bool
}

// SCIMGroup is a group pushed by a SCIM client. Its members receive the
// roles the tenant maps its display name to.
type SCIMGroup struct {
	ID          int64
	TenantID    int64
	DisplayName string // unique per tenant, case-insensitively
	ExternalID  string
	Members     []int64 // user IDs, ascending
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Validate reports every problem of the group at once.
func (g *SCIMGroup) Validate() error {
	var v ValidationError
	if g.TenantID == 0 {
		v.Add("tenant: required")
	}
	if g.DisplayName == "" || len(g.DisplayName) > 256 || HasControl(g.DisplayName) {
		v.Add("displayName: 1 to 256 characters, no control characters")
	}
	if len(g.ExternalID) > 256 || HasControl(g.ExternalID) {
		v.Add("externalId: at most 256 characters, no control characters")
	}
	return v.Err()
}

// CondOp is the kind of a Cond node.
type CondOp string

// Cond node kinds and comparison operators (RFC 7644 section 3.4.2.2).
const (
	CondAnd     CondOp = "and"
	CondOr      CondOp = "or"
	CondNot     CondOp = "not"
	CondEq      CondOp = "eq"
	CondNe      CondOp = "ne"
	CondCo      CondOp = "co"
	CondSw      CondOp = "sw"
	CondEw      CondOp = "ew"
	CondPresent CondOp = "pr"
	CondGt      CondOp = "gt"
	CondGe      CondOp = "ge"
	CondLt      CondOp = "lt"
	CondLe      CondOp = "le"
	// CondConst is a constant: Value is its bool.
	CondConst CondOp = "const"
)

// CondField names a stored attribute a Cond may test. The store maps each
// to a column through a fixed table and refuses any other.
type CondField string

// Fields of users and SCIM groups a Cond may test.
const (
	FieldID          CondField = "id"
	FieldLogin       CondField = "login"
	FieldEmail       CondField = "email"
	FieldFirstName   CondField = "firstname"
	FieldLastName    CondField = "lastname"
	FieldActive      CondField = "active"
	FieldExternalID  CondField = "external_id"
	FieldCreated     CondField = "created"
	FieldUpdated     CondField = "updated"
	FieldDisplayName CondField = "display_name" // groups
	FieldMember      CondField = "member"       // groups: a member's user ID
)

// Cond is a condition on stored records that the store compiles to a
// query: a comparison of Field with Value, or And/Or of Left and Right,
// or Not of Left. Value is a string, a bool, an int64 or a time.Time.
// Text comparisons of login, email and names ignore case; externalId is
// compared exactly.
type Cond struct {
	Op          CondOp
	Field       CondField
	Value       any
	Left, Right *Cond
}

// String renders c for logs and errors.
func (c *Cond) String() string {
	if c == nil {
		return "true"
	}
	switch c.Op {
	case CondAnd, CondOr:
		return fmt.Sprintf("(%s %s %s)", c.Left, c.Op, c.Right)
	case CondNot:
		return fmt.Sprintf("not(%s)", c.Left)
	case CondPresent:
		return fmt.Sprintf("%s pr", c.Field)
	}
	return fmt.Sprintf("%s %s %v", c.Field, c.Op, c.Value)
}

// SCIMPage selects a page of a SCIM list: Offset records skipped (SCIM's
// startIndex minus one) and at most Limit returned.
type SCIMPage struct {
	Offset int
	Limit  int
}

// SCIMStore keeps what SCIM provisioning adds to accounts: profiles,
// groups and their members. A Cond a method cannot compile (a field the
// resource does not have, a value of the wrong type) is a KindInvalid error.
type SCIMStore interface {
	// SCIMUsers lists a tenant's users matching c (nil: all) by ID, one
	// page, with their SCIM profiles, and the number of all matches;
	// users whose profile is Deleted are left out.
	SCIMUsers(ctx context.Context, tenantID int64, c *Cond, p SCIMPage) ([]User, []SCIMProfile, int, error)
	// SCIMProfile returns the SCIM profile of a user; a user without one
	// has an empty profile (not an error).
	SCIMProfile(ctx context.Context, userID int64) (SCIMProfile, error)
	// PutSCIMProfile inserts or replaces the profile of p.UserID.
	PutSCIMProfile(ctx context.Context, p SCIMProfile) error
	// CreateSCIMGroup inserts g with its members and sets ID and
	// timestamps. ErrConflict when the tenant has the display name.
	CreateSCIMGroup(ctx context.Context, g *SCIMGroup) error
	// SCIMGroup returns a tenant's group with its members. ErrNotFound.
	SCIMGroup(ctx context.Context, tenantID, id int64) (SCIMGroup, error)
	// SCIMGroups lists a tenant's groups matching c by ID, one page, with
	// their members, and the number of all matches.
	SCIMGroups(ctx context.Context, tenantID int64, c *Cond, p SCIMPage) ([]SCIMGroup, int, error)
	// UpdateSCIMGroup writes the display name and external ID of g and
	// bumps UpdatedAt. ErrNotFound; ErrConflict when the name is taken.
	UpdateSCIMGroup(ctx context.Context, g *SCIMGroup) error
	// ChangeSCIMGroupMembers adds and removes members (user IDs of the
	// group's tenant; others are ErrNotFound) and bumps UpdatedAt. Adding a
	// member twice or removing a non-member is not an error.
	ChangeSCIMGroupMembers(ctx context.Context, groupID int64, add, remove []int64) error
	// DeleteSCIMGroup removes the group and its memberships. ErrNotFound.
	DeleteSCIMGroup(ctx context.Context, tenantID, id int64) error
	// SCIMGroupsOfUser lists the display names of the groups the user is
	// a member of, sorted.
	SCIMGroupsOfUser(ctx context.Context, userID int64) ([]SCIMGroup, error)
}
