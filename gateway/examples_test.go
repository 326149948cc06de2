package gateway_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsTheExamples: the README shows each configuration in
// docs/examples verbatim, in a fenced block of its own, so the snippet a
// reader copies is the one the tests run.
func TestREADMEShowsTheExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for file, lang := range map[string]string{"nginx.conf": "nginx", "Caddyfile": "caddy", "traefik.yml": "yaml"} {
		data, err := os.ReadFile("../docs/examples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if block := "```" + lang + "\n" + string(data) + "```\n"; !strings.Contains(string(readme), block) {
			t.Errorf("README.md does not show docs/examples/%s verbatim in a ```%s block", file, lang)
		}
	}
}
