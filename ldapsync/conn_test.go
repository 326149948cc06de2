package ldapsync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/slapdtest"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// Every way of reaching the directory: plain LDAP, StartTLS and LDAPS
// with the test CA, LDAPS with a pinned certificate, failover past a dead
// URL; and the refusals: an unknown CA, a wrong pin, a wrong password.
// "Test connection" shows five users as they would be mapped.
func TestConnect(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{})
	s.Add(t, slapdtest.Fixture())
	other := slapdtest.Start(t, slapdtest.Options{}) // another CA
	dead := "ldap://127.0.0.1:1"
	base := directory(s)
	base.StartTLS = false
	for _, c := range []struct {
		name    string
		edit    func(d *lanyard.LDAPDirectory)
		wantErr string
	}{
		{"plain", func(d *lanyard.LDAPDirectory) { d.CACertPEM = "" }, ""},
		{"StartTLS", func(d *lanyard.LDAPDirectory) { d.StartTLS = true }, ""},
		{"LDAPS", func(d *lanyard.LDAPDirectory) { d.URLs = []string{s.LDAPSURL} }, ""},
		{"LDAPS pinned", func(d *lanyard.LDAPDirectory) {
			d.URLs, d.CACertPEM, d.PinnedSHA256 = []string{s.LDAPSURL}, "", s.CertSHA256
		}, ""},
		{"failover", func(d *lanyard.LDAPDirectory) { d.URLs = []string{dead, s.LDAPSURL} }, ""},
		{"unknown CA", func(d *lanyard.LDAPDirectory) { d.URLs, d.CACertPEM = []string{s.LDAPSURL}, other.CACertPEM }, "certificate"},
		{"StartTLS unknown CA", func(d *lanyard.LDAPDirectory) { d.StartTLS, d.CACertPEM = true, other.CACertPEM }, "StartTLS"},
		{"wrong pin", func(d *lanyard.LDAPDirectory) {
			d.URLs, d.CACertPEM, d.PinnedSHA256 = []string{s.LDAPSURL}, "", other.CertSHA256
		}, "not the pinned"},
		{"wrong password", func(d *lanyard.LDAPDirectory) { d.BindPassword = "nope" }, "bind as"},
		{"all down", func(d *lanyard.LDAPDirectory) { d.URLs = []string{dead} }, "no directory server answered"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := base
			d.URLs = append([]string(nil), base.URLs...)
			c.edit(&d)
			conn, err := ldapsync.Dial(context.Background(), d)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Dial: %v, want an error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer conn.Close()
			people, err := conn.Sample(context.Background(), 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(people) != 4 {
				t.Fatalf("sample: %+v", people)
			}
			for _, p := range people {
				if p.Login == "carol" && !p.Disabled || p.Login != "carol" && p.Disabled {
					t.Errorf("%s disabled=%v (userAccountControl bit 2)", p.Login, p.Disabled)
				}
				if p.Login == "dave" && strings.Join(p.Groups, ",") != "engineers,staff" {
					t.Errorf("dave's groups %v, want engineers,staff (nested)", p.Groups)
				}
			}
		})
	}
}
