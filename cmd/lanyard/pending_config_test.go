package main

import (
	"strings"
	"testing"
)

// TestPendingRequestLimitsConfig: the bounds of pending AuthnRequests come
// from flags or the environment and must be positive numbers.
func TestPendingRequestLimitsConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		code int
		want string
	}{
		{map[string]string{"LANYARD_PENDING_REQUESTS_PER_CLIENT": "0"}, 2, `LANYARD_PENDING_REQUESTS_PER_CLIENT "0": a positive number`},
		{map[string]string{"LANYARD_PENDING_REQUESTS_TOTAL": "many"}, 2, `LANYARD_PENDING_REQUESTS_TOTAL "many": a positive number`},
		{map[string]string{"LANYARD_PENDING_REQUESTS_PER_CLIENT": "50", "LANYARD_PENDING_REQUESTS_TOTAL": "1000"}, 0, ""},
	} {
		tc.env["LANYARD_DATA"] = t.TempDir()
		r := cli(t, tc.env, "", "tenant", "list")
		code := 0
		if r.err != nil {
			code = exitCode(r.err)
		}
		if code != tc.code || !strings.Contains(r.output(), tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.env, exitCode(r.err), r.output())
		}
	}
}
