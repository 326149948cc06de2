package apiv1

import "time"

// UserStatus says whether an account may be used at all.
type UserStatus string

// User statuses.
const (
	StatusActive   UserStatus = "active"
	StatusInactive UserStatus = "inactive"
)

// Enum lists the user statuses.
func (UserStatus) Enum() []string { return []string{string(StatusActive), string(StatusInactive)} }

// LoginMethod says how an account signs in.
type LoginMethod string

// Login methods.
const (
	LoginPassword LoginMethod = "password"
	LoginSSO      LoginMethod = "sso"
)

// Enum lists the login methods.
func (LoginMethod) Enum() []string { return []string{string(LoginPassword), string(LoginSSO)} }

// UserSource says which system created and owns an account.
type UserSource string

// User sources.
const (
	SourceLocal UserSource = "local"
	SourceIdP   UserSource = "idp"
	SourceLDAP  UserSource = "ldap"
	SourceSCIM  UserSource = "scim"
)

// Enum lists the user sources.
func (UserSource) Enum() []string {
	return []string{string(SourceLocal), string(SourceIdP), string(SourceLDAP), string(SourceSCIM)}
}

// RoleSource says who granted a role: by hand, or the IdP at login.
type RoleSource string

// Role sources.
const (
	RoleManual RoleSource = "manual"
	RoleIdP    RoleSource = "idp"
	RoleLDAP   RoleSource = "ldap"
	RoleSCIM   RoleSource = "scim"
)

// Enum lists the role sources.
func (RoleSource) Enum() []string {
	return []string{string(RoleManual), string(RoleIdP), string(RoleLDAP), string(RoleSCIM)}
}

// User is an account of a tenant.
type User struct {
	ID          int64       `json:"id"`
	Login       string      `json:"login"`
	Email       string      `json:"email"`
	FirstName   string      `json:"firstname"`
	LastName    string      `json:"lastname"`
	Status      UserStatus  `json:"status"`
	Locked      bool        `json:"locked"`
	LoginMethod LoginMethod `json:"login_method"`
	WebAccess   bool        `json:"web_access"`
	AutoLogin   bool        `json:"auto_login" doc:"the login page skips the username prompt"`
	Source      UserSource  `json:"source"`
	IdPSourced  bool        `json:"idp_sourced" doc:"created by just-in-time provisioning"`
	Roles       []Role      `json:"roles"`
	HasPassword bool        `json:"has_password"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	LastLoginAt *time.Time  `json:"last_login_at"`
}

// Role is a role held by a user.
type Role struct {
	Role   string     `json:"role"`
	Source RoleSource `json:"source"`
}

// UserList answers the list of a tenant's users.
type UserList struct {
	Users []User `json:"users"`
}

// UserQuery are the filters of the list of users.
type UserQuery struct {
	Query       string      `query:"query" doc:"substring of login, email or names"`
	Status      UserStatus  `query:"status"`
	Source      UserSource  `query:"source"`
	LoginMethod LoginMethod `query:"login_method"`
	Role        string      `query:"role" doc:"holds this role"`
	Limit       int         `query:"limit" doc:"at most this many"`
	Offset      int         `query:"offset" doc:"skip this many"`
}

// UserCreate is the body that adds a user.
type UserCreate struct {
	Login       string      `json:"login"`
	Email       string      `json:"email,omitempty"`
	FirstName   string      `json:"firstname,omitempty"`
	LastName    string      `json:"lastname,omitempty"`
	Status      UserStatus  `json:"status,omitempty" doc:"default active"`
	LoginMethod LoginMethod `json:"login_method,omitempty"`
	WebAccess   *bool       `json:"web_access,omitempty" doc:"default true"`
	AutoLogin   bool        `json:"auto_login,omitempty"`
	Roles       []string    `json:"roles,omitempty"`
}

// UserInfo is a user with its IdP links and live sessions.
type UserInfo struct {
	User         User       `json:"user"`
	Links        []UserLink `json:"links"`
	LiveSessions int        `json:"live_sessions"`
}

// UserLink is an IdP identity linked to an account.
type UserLink struct {
	IdPEntityID string    `json:"idp_entity_id"`
	NameID      string    `json:"name_id"`
	CreatedAt   time.Time `json:"created_at"`
}

// UserChange answers a change of a user's settings.
type UserChange struct {
	User    User     `json:"user"`
	Changes []string `json:"changes"`
}

// ImportQuery are the query parameters of a CSV import.
type ImportQuery struct {
	DryRun bool `query:"dry_run" doc:"report what would change, write nothing"`
}

// ImportAction is what an import does to one account.
type ImportAction string

// Import actions.
const (
	ImportCreate ImportAction = "create"
	ImportUpdate ImportAction = "update"
)

// Enum lists the import actions.
func (ImportAction) Enum() []string { return []string{string(ImportCreate), string(ImportUpdate)} }

// ImportReport says what a CSV import did, or would do on a dry run.
type ImportReport struct {
	DryRun         bool           `json:"dry_run"`
	Rows           int            `json:"rows" doc:"data rows read"`
	Created        int            `json:"created"`
	Updated        int            `json:"updated"`
	Unchanged      int            `json:"unchanged"`
	Changes        []ImportChange `json:"changes" doc:"the rows that create or update an account, in file order"`
	IgnoredColumns []string       `json:"ignored_columns"`
}

// ImportChange is what an import does to one account.
type ImportChange struct {
	Line    int          `json:"line" doc:"the line of the row in the file"`
	Login   string       `json:"login"`
	Action  ImportAction `json:"action"`
	Changes []string     `json:"changes"`
}

// MergeRequest is the body of a merge of two accounts.
type MergeRequest struct {
	Keep   string `json:"keep" doc:"login of the account that stays"`
	Remove string `json:"remove" doc:"login of the account merged into keep, then deleted"`
	DryRun bool   `json:"dry_run,omitempty" doc:"preview, write nothing"`
}

// MergePlan says what a merge does, or would do on a dry run.
type MergePlan struct {
	DryRun           bool        `json:"dry_run"`
	Keep             User        `json:"keep" doc:"the account that stays, before the merge"`
	Remove           User        `json:"remove"`
	Result           User        `json:"result" doc:"keep after the merge"`
	Links            []MergeLink `json:"links" doc:"IdP identities that move to keep"`
	Sessions         int         `json:"sessions" doc:"live sessions that move to keep"`
	Changes          []string    `json:"changes"`
	AuditEventsMoved int         `json:"audit_events_moved"`
}

// MergeLink is an IdP identity moved by a merge.
type MergeLink struct {
	IdPEntityID string `json:"idp_entity_id"`
	NameID      string `json:"name_id"`
}

// ConvertRequest is the body of a conversion of accounts to SSO accounts.
type ConvertRequest struct {
	Logins []string `json:"logins"`
	Domain string   `json:"domain,omitempty" doc:"turns a login without @ into login@domain; empty: the account's email address"`
	DryRun bool     `json:"dry_run,omitempty"`
}

// ConvertReport answers a conversion.
type ConvertReport struct {
	DryRun      bool         `json:"dry_run"`
	Conversions []Conversion `json:"conversions"`
}

// Conversion is what converting one account does.
type Conversion struct {
	Login    string   `json:"login"`
	NewLogin string   `json:"new_login"`
	Changes  []string `json:"changes"`
}
