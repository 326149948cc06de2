package filter

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgainstIndependentParser parses the filters of this package's tables
// with an independent implementation, the npm package scim2-parse-filter,
// and compares which ones each accepts. It runs when
// LANYARD_SCIM_NPM_DIR names a directory where it is installed:
//
//	mkdir /tmp/scimnpm && cd /tmp/scimnpm && npm install scim2-parse-filter@0.2.10
//	LANYARD_SCIM_NPM_DIR=/tmp/scimnpm go test ./scim/filter/ -run Independent -v
func TestAgainstIndependentParser(t *testing.T) {
	dir := os.Getenv("LANYARD_SCIM_NPM_DIR")
	if dir == "" {
		t.Skip("LANYARD_SCIM_NPM_DIR not set (a directory with the npm package scim2-parse-filter)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	// Where the two differ on purpose, and why.
	known := map[string]string{
		`emails[type eq "work"].value eq "a@b"`: "a sub-attribute test after a value filter, as clients write it; scim2-parse-filter reads only a bare [..] filter",
		`emails.value[type eq "x"]`:             "RFC 7644: a value filter follows an attribute, not a sub-attribute; scim2-parse-filter accepts it",
		`user$ eq "x"`:                          "RFC 7643 ATTRNAME allows only letters, digits, - and _ ($ref aside); scim2-parse-filter accepts $",
		`1abc eq "x"`:                           "RFC 7643 ATTRNAME starts with a letter; scim2-parse-filter accepts a digit",
		`a.b.c eq "x"`:                          "an attribute path has at most one sub-attribute; scim2-parse-filter accepts more",
		"userName eq \"\xff\"":                  "not UTF-8: refused here before parsing",
		`not userName eq "x"`:                   "RFC 7644 writes not (filter), with parentheses; scim2-parse-filter also takes not without them",
		`emails[type eq "work"].`:               "a dot without a sub-attribute; scim2-parse-filter ignores it",
		`userName eq "bad \x escape"`:           "strings are JSON strings (RFC 7159), \\x is no JSON escape; scim2-parse-filter keeps it",
	}
	bounds := []string{strings.Repeat("(", MaxDepth+1), strings.Repeat("not (", MaxDepth+1), `a eq "xxxxxxxx`}
	var inputs []string
	inputs = append(inputs, parseTable()...)
	inputs = append(inputs, refuseTable()...)
	data, _ := json.Marshal(inputs)
	script := `const p = require("scim2-parse-filter");
let input = ""; process.stdin.on("data", d => input += d); process.stdin.on("end", () => {
  const out = JSON.parse(input).map(s => { try { p.parse(s); return true } catch (e) { return false } });
  process.stdout.write(JSON.stringify(out));
});`
	cmd := exec.Command(node, "-e", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var theirs []bool
	if err := json.Unmarshal(out, &theirs); err != nil || len(theirs) != len(inputs) {
		t.Fatalf("node answered %s (%v)", out, err)
	}
	agree := 0
	for i, s := range inputs {
		_, err := Parse(s)
		ours := err == nil
		if ours == theirs[i] {
			agree++
			continue
		}
		why := known[s]
		for _, b := range bounds {
			if strings.HasPrefix(s, b) {
				why = "bounds (depth, length) of this parser"
			}
		}
		if why == "" {
			t.Errorf("%q: Lanyard accepts %v, scim2-parse-filter %v", s, ours, theirs[i])
			continue
		}
		t.Logf("%q: Lanyard %v, scim2-parse-filter %v: %s", s, ours, theirs[i], why)
	}
	t.Logf("%d of %d filters judged alike", agree, len(inputs))
}
