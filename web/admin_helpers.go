package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Helpers of the admin UI pages that lived in the API's files (api*.go)
// until the API moved to package web/api, which keeps its own copies of
// certWarning and parseID.

// errAPIDisabled answers when the server runs without the admin service.
var errAPIDisabled = &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "the admin API is not available on this server"}

// certWarningWindow is how long before expiry a certificate is flagged.
const certWarningWindow = 30 * 24 * time.Hour

// certWarning says whether a certificate has expired or expires soon.
func certWarning(notAfter, now time.Time) string {
	switch {
	case !notAfter.After(now):
		return "expired"
	case notAfter.Sub(now) < certWarningWindow:
		return fmt.Sprintf("expires in %d days", int(notAfter.Sub(now).Hours()/24)+1)
	}
	return ""
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("query parameter %s=%q: give a whole number", name, v)}
	}
	return n, nil
}

// parseID reads a positive record ID from a path.
func parseID(s string) (int64, error) {
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil || id <= 0 || fmt.Sprint(id) != s {
		return 0, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("%q is not an ID: give the number shown in the list", s)}
	}
	return id, nil
}
