package apiv1

import "time"

// LDAPStatus is a tenant's LDAP / Active Directory connection, its sync
// state, the precedence rules it puts in force and its newest runs.
type LDAPStatus struct {
	Configured        bool              `json:"configured" doc:"false: the tenant has no directory (settings show the defaults)"`
	Settings          map[string]string `json:"settings" doc:"the keys of lanyard ldap set with their values, defaults filled in; the bind password is never shown"`
	PasswordStored    bool              `json:"password_stored"`
	LastStatus        string            `json:"last_status" doc:"ok, failed, stopped, or empty when never run"`
	LastMessage       string            `json:"last_message"`
	PendingRunID      int64             `json:"pending_run_id" doc:"a run stopped by the safety rule, waiting for confirmation; 0 if none"`
	LastFullAt        time.Time         `json:"last_full_at"`
	LastIncrementalAt time.Time         `json:"last_incremental_at"`
	Rules             []string          `json:"rules" doc:"the precedence of the directory over SAML provisioning, in words"`
	Runs              []LDAPSyncRun     `json:"runs" doc:"the newest runs, newest first, without their reports"`
}

// LDAPSyncRun is one sync of a tenant's directory.
type LDAPSyncRun struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind" doc:"full or incremental"`
	DryRun      bool      `json:"dry_run"`
	Status      string    `json:"status" doc:"ok, failed (nothing changed) or stopped (the safety rule: nothing changed, waiting for confirmation)"`
	Actor       string    `json:"actor"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Seen        int       `json:"seen" doc:"directory entries read"`
	Created     int       `json:"created"`
	Updated     int       `json:"updated"`
	Deactivated int       `json:"deactivated"`
	Reactivated int       `json:"reactivated"`
	Message     string    `json:"message"`
	Report      []string  `json:"report" doc:"the changes, one line each"`
	Confirmed   bool      `json:"confirmed" doc:"a stopped run an administrator confirmed"`
}

// LDAPChange answers a change of the directory settings.
type LDAPChange struct {
	Changes []string `json:"changes"`
}

// LDAPTest is what "Test connection" found: the server that answered and
// up to five users as a sync would map them.
type LDAPTest struct {
	URL   string           `json:"url"`
	Users []LDAPSampleUser `json:"users"`
}

// LDAPSampleUser is a directory entry as an account would hold it.
type LDAPSampleUser struct {
	DN        string   `json:"dn"`
	Login     string   `json:"login"`
	Email     string   `json:"email"`
	FirstName string   `json:"firstname"`
	LastName  string   `json:"lastname"`
	Disabled  bool     `json:"disabled"`
	Groups    []string `json:"groups"`
	Roles     []string `json:"roles"`
}

// LDAPSyncQuery chooses the sync to run.
type LDAPSyncQuery struct {
	Incremental bool `query:"incremental" doc:"read only the entries changed since the last sync"`
	DryRun      bool `query:"dry_run" doc:"list what would be created, updated, deactivated; change nothing"`
	Confirm     bool `query:"confirm" doc:"apply deactivations beyond the safety share, after checking a stopped run's report"`
}
