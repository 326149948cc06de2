package ui

// Navigation is the header of the pages of a signed-in administrator: who
// is signed in, and the links to what they may manage. Pages whose data
// has a Navigation (see Navigator) get it from the shared layout, so every
// administration page shows the same one.
type Navigation struct {
	Login string
	// Kind says what the administrator manages, in words.
	Kind string
	CSRF string
	Main []NavLink
	// Tenant names the tenant whose pages TenantLinks lead to, "" when none.
	Tenant      string
	TenantLinks []NavLink
}

// NavLink is one link of the navigation; Current marks the page shown.
type NavLink struct {
	Href    string
	Text    string
	Current bool
}

// Navigator is page data with an administrator's navigation.
type Navigator interface {
	Navigation() *Navigation
}

// navigationOf is the navigation of a page's data, nil when it has none.
func navigationOf(data any) *Navigation {
	if n, ok := data.(Navigator); ok {
		return n.Navigation()
	}
	return nil
}
