// Package params reads the numbers that pages and API calls take from the
// query string and the path, refusing malformed ones with a message that
// says what to give instead.
package params

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/lanyard-sso/lanyard"
)

// QueryInt reads the optional non-negative whole number name of the query
// string; 0 when absent.
func QueryInt(r *http.Request, name string) (int64, error) {
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

// ParseID reads a positive ID written in canonical decimal form.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("%q is not an ID: give the number shown in the list", s)}
	}
	return id, nil
}
