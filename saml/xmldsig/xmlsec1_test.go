package xmldsig

import (
	"os"
	"os/exec"
	"testing"
)

// xmlsecBin returns the path of xmlsec1, the independent implementation
// the tests compare with; a missing one skips locally and fails in CI.
func xmlsecBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		const msg = "xmlsec1 not found (Debian package xmlsec1); scripts/test.sh installs it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}
