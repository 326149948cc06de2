package apiv1

import "time"

// Route is a reverse proxy route kept in the store.
type Route struct {
	Name        string    `json:"name"`
	Host        string    `json:"host"`
	PathPrefix  string    `json:"path_prefix"`
	Upstream    string    `json:"upstream"`
	Tenant      string    `json:"tenant"`
	Roles       []string  `json:"roles"`
	BearerToken bool      `json:"bearer_token"`
	StripPrefix bool      `json:"strip_prefix"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// RouteList answers the list of reverse proxy routes.
type RouteList struct {
	Routes []Route `json:"routes"`
}

// RoutePut is the body that adds or replaces a reverse proxy route.
type RoutePut struct {
	Host        string   `json:"host,omitempty" doc:"request host; empty: any"`
	PathPrefix  string   `json:"path_prefix,omitempty" doc:"default /; a prefix without a trailing / also matches itself"`
	Upstream    string   `json:"upstream" format:"uri" doc:"absolute http:// or https:// URL of the application"`
	Tenant      string   `json:"tenant,omitempty" doc:"slug; default: the default tenant"`
	Roles       []string `json:"roles,omitempty" doc:"every one required"`
	BearerToken bool     `json:"bearer_token,omitempty" doc:"also send the identity token as Authorization: Bearer (it is always sent as X-Lanyard-JWT)"`
	StripPrefix bool     `json:"strip_prefix,omitempty" doc:"remove path_prefix from the path sent upstream"`
}
