package lanyard_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is the import path of Lanyard; rules name packages relative to it
// ("" is the domain, the root package).
const module = "github.com/lanyard-sso/lanyard"

// goPackage is what the layering rules read of one package: its path, the
// packages it imports and every package it depends on, directly or not
// (test files excluded).
type goPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	// Error is a package that go list could not load, such as an import
	// the go command forbids (another tree's internal package).
	Error *struct{ Pos, Err string }
}

// rel returns the path of a Lanyard package relative to the module ("" for
// the root), and false for a package of another module or the standard
// library.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// webFace returns the face a path under web/ belongs to ("web/sso" for
// web/sso and web/sso/x), or "" for web itself, web/internal/... and paths
// outside web/.
func webFace(r string) string {
	rest, ok := strings.CutPrefix(r, "web/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "internal" {
		return ""
	}
	return "web/" + name
}

// sqlEngine returns the storage engine a path belongs to ("sqlstore/sqlite"
// for it and its subpackages), or "" when it is none: every package below
// sqlstore/ is an engine.
func sqlEngine(r string) string {
	rest, ok := strings.CutPrefix(r, "sqlstore/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return "sqlstore/" + name
}

// engineDrivers are the database drivers, each imported by its engine only.
var engineDrivers = map[string]string{
	"sqlstore/sqlite":   "modernc.org/sqlite",
	"sqlstore/postgres": "github.com/jackc/pgx",
}

// devidpLibraries are the XML libraries the development IdP may build on;
// their own dependencies come with them.
var devidpLibraries = []string{"github.com/russellhaering/goxmldsig", "github.com/beevik/etree"}

// layerRule is one dependency rule: a package that from selects may not
// depend on a package that banned selects.
type layerRule struct {
	why string
	// direct checks only the packages imported, not every dependency:
	// for a rule about who may import a package, not who may use it.
	direct bool
	// from selects the importing packages, by path relative to the module.
	from func(r string) bool
	// banned reports whether the package from (relative path) may not
	// depend on dep (full import path; std tells a standard package).
	banned func(from, dep string, std bool, g *depGraph) bool
}

// depGraph is the output of one go list run.
type depGraph struct {
	pkgs map[string]goPackage
	// devidpAllowed are the libraries devidp may use and their dependencies.
	devidpAllowed map[string]bool
}

// layerRules hold the rule that dependencies point inward. They are
// patterns, so that a new face (web/scim, web/oidc), engine or subpackage
// is covered without editing them.
var layerRules = []layerRule{
	{
		why:  "the domain, clientip and keyseal import only the standard library",
		from: func(r string) bool { return r == "" || r == "clientip" || r == "keyseal" },
		banned: func(_, dep string, std bool, _ *depGraph) bool {
			return !std
		},
	},
	{
		why:  "saml is a standalone library: it imports nothing of Lanyard",
		from: func(r string) bool { return under(r, "saml") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && !under(d, "saml")
		},
	},
	{
		why:  "saml/xmldsig (parser, C14N, XML-DSig, XML Encryption) is a leaf: the standard library only, nothing of Lanyard, not even saml",
		from: func(r string) bool { return under(r, "saml/xmldsig") },
		banned: func(_, dep string, std bool, _ *depGraph) bool {
			return !std
		},
	},
	{
		why:  "login is pure logic over the domain",
		from: func(r string) bool { return under(r, "login") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && d != "" && !under(d, "login")
		},
	},
	{
		why:  "tenantcfg uses only the domain, saml and spkeys: storage through the domain's interfaces, no HTTP handlers, no login use cases",
		from: func(r string) bool { return under(r, "tenantcfg") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && d != "" && !under(d, "tenantcfg") && !under(d, "saml") && d != "spkeys"
		},
	},
	{
		why:  "admin and spkeys work over the domain's interfaces: no storage engine, no sessions, no HTTP",
		from: func(r string) bool { return under(r, "admin") || under(r, "spkeys") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			if d, ours := rel(dep); ours {
				return under(d, "sqlstore") || under(d, "web") || under(d, "session")
			}
			return under(dep, "net/http") || slices.ContainsFunc(driverPaths(), func(p string) bool { return under(dep, p) })
		},
	},
	{
		why:  "sqlstore knows no database driver and no engine: the engines bring them",
		from: func(r string) bool { return r == "sqlstore" },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			if d, ours := rel(dep); ours {
				return sqlEngine(d) != ""
			}
			return slices.ContainsFunc(driverPaths(), func(p string) bool { return under(dep, p) })
		},
	},
	{
		why:  "engines never import each other, nor each other's driver",
		from: func(r string) bool { return sqlEngine(r) != "" },
		banned: func(from, dep string, _ bool, _ *depGraph) bool {
			own := sqlEngine(from)
			if d, ours := rel(dep); ours {
				return sqlEngine(d) != "" && sqlEngine(d) != own
			}
			for engine, driver := range engineDrivers {
				if engine != own && under(dep, driver) {
					return true
				}
			}
			return false
		},
	},
	{
		why: "only cmd/... wires a storage engine in (internal/testdb opens them for tests)",
		from: func(r string) bool {
			return !under(r, "cmd") && r != "internal/testdb" && sqlEngine(r) == ""
		},
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && sqlEngine(d) != ""
		},
	},
	{
		why:  "web and its faces reach storage only through the domain's interfaces, and know nothing of cmd",
		from: func(r string) bool { return under(r, "web") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && (under(d, "sqlstore") || under(d, "cmd"))
		},
	},
	{
		why: "no web face imports another: only web, which mounts them all, does",
		from: func(r string) bool {
			return strings.HasPrefix(r, "web/")
		},
		banned: func(from, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			if !ours {
				return false
			}
			face := webFace(d)
			return face != "" && face != webFace(from)
		},
	},
	{
		why:    "web/internal/... is shared by web and its faces only",
		direct: true, // cmd/lanyard uses it through web
		from:   func(r string) bool { return !under(r, "web") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && under(d, "web/internal")
		},
	},
	{
		why:  "apiv1, the API's wire types, is a contract shared by server and client: it imports only the standard library",
		from: func(r string) bool { return under(r, "apiv1") },
		banned: func(_, dep string, std bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return !std && !(ours && under(d, "apiv1"))
		},
	},
	{
		why:  "a program calling the API needs nothing of the server: apiclient imports only apiv1 and the standard library",
		from: func(r string) bool { return under(r, "apiclient") },
		banned: func(_, dep string, std bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return !std && !(ours && (under(d, "apiclient") || under(d, "apiv1")))
		},
	},
	{
		why:  "the server shares apiv1 with the client, not the client itself",
		from: func(r string) bool { return !under(r, "apiclient") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && under(d, "apiclient")
		},
	},
	{
		why:  "lockout is a policy over the domain's ThrottleStore, shared by the faces and the administration",
		from: func(r string) bool { return under(r, "lockout") },
		banned: func(_, dep string, _ bool, _ *depGraph) bool {
			d, ours := rel(dep)
			return ours && d != "" && !under(d, "lockout")
		},
	},
	{
		why: "devidp is an independent implementation: nothing of Lanyard (above all not saml), " +
			"only the standard library and the XML libraries it builds on (goxmldsig, etree)",
		from: func(r string) bool { return under(r, "devidp") },
		banned: func(_, dep string, std bool, g *depGraph) bool {
			if d, ours := rel(dep); ours {
				return !under(d, "devidp")
			}
			return !std && !g.devidpAllowed[dep]
		},
	},
}

// driverPaths lists the import path prefixes of every engine's driver.
func driverPaths() []string {
	var out []string
	for _, d := range engineDrivers {
		out = append(out, d)
	}
	return out
}

// loadDepGraph runs go list once over the whole module.
func loadDepGraph(t *testing.T) *depGraph {
	t.Helper()
	// -e: a package that does not load is reported below, with the rules
	// still checked on the others.
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Standard,Imports,Deps,Error", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v\n%s", err, stderr.Bytes())
	}
	g := &depGraph{pkgs: map[string]goPackage{}, devidpAllowed: map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s: %s", p.ImportPath, p.Error.Pos, p.Error.Err)
		}
		g.pkgs[p.ImportPath] = p
	}
	for path, p := range g.pkgs {
		if slices.ContainsFunc(devidpLibraries, func(lib string) bool { return under(path, lib) }) {
			g.devidpAllowed[path] = true
			for _, d := range p.Deps {
				g.devidpAllowed[d] = true
			}
		}
	}
	return g
}

// TestLayering holds the rule that dependencies point inward (see
// layerRules), for every package of the module, from one go list run.
func TestLayering(t *testing.T) {
	g := loadDepGraph(t)
	checked := 0
	for _, path := range slices.Sorted(maps.Keys(g.pkgs)) {
		from, ours := rel(path)
		if !ours {
			continue
		}
		checked++
		for _, rule := range layerRules {
			if !rule.from(from) {
				continue
			}
			deps := g.pkgs[path].Deps
			if rule.direct {
				deps = g.pkgs[path].Imports
			}
			var bad []string
			for _, dep := range deps {
				if rule.banned(from, dep, g.pkgs[dep].Standard, g) {
					bad = append(bad, dep)
				}
			}
			if len(bad) > 0 {
				verb := "depends on"
				if rule.direct {
					verb = "imports"
				}
				t.Errorf("%s %s %s: %s", path, verb, listSome(bad, 4), rule.why)
			}
		}
	}
	// A go list that found nothing would pass every rule.
	for _, want := range []string{module, module + "/saml", module + "/saml/xmldsig", module + "/web", module + "/cmd/lanyard", module + "/sqlstore/sqlite"} {
		if _, ok := g.pkgs[want]; !ok {
			t.Errorf("go list did not list %s", want)
		}
	}
	if checked < 20 {
		t.Errorf("only %d Lanyard packages listed", checked)
	}
}

// listSome names the first n of deps and counts the others.
func listSome(deps []string, n int) string {
	if len(deps) <= n {
		return strings.Join(deps, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(deps[:n], ", "), len(deps)-n)
}

// TestLayerRulePatterns checks the patterns on paths that do not exist
// yet, so that new faces and engines are covered.
func TestLayerRulePatterns(t *testing.T) {
	g := &depGraph{pkgs: map[string]goPackage{}, devidpAllowed: map[string]bool{"github.com/beevik/etree": true}}
	banned := func(from, dep string, std bool) bool {
		for _, rule := range layerRules {
			if rule.from(from) && rule.banned(from, dep, std, g) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		from, dep string
		std       bool
		want      bool
	}{
		{"web/scim", module + "/web/oidc", false, true},
		{"web/scim/internal/x", module + "/web/admin", false, true},
		{"web/internal/httperr", module + "/web/sso", false, true},
		{"web/scim", module + "/web/scim/schema", false, false},
		{"web/scim", module + "/web/internal/httperr", false, false},
		{"web", module + "/web/scim", false, false},
		{"web/oidc", module + "/sqlstore", false, true},
		{"web/oidc", module + "/cmd/lanyard", false, true},
		{"gateway", module + "/web/internal/httperr", false, true},
		{"gateway", module + "/sqlstore/mysql", false, true},
		{"cmd/lanyard", module + "/sqlstore/mysql", false, false},
		{"sqlstore/mysql", module + "/sqlstore/sqlite", false, true},
		{"sqlstore/mysql", "github.com/jackc/pgx/v5", false, true},
		{"sqlstore/postgres", "github.com/jackc/pgx/v5", false, false},
		{"devidp", module + "/saml", false, true},
		{"saml/xmldsig", module + "/saml", false, true},
		{"saml/xmldsig/internal/x", module, false, true},
		{"saml/xmldsig", "github.com/beevik/etree", false, true},
		{"saml/xmldsig", "crypto/rsa", true, false},
		{"saml", module + "/saml/xmldsig", false, false},
		{"devidp", "github.com/beevik/etree", false, false},
		{"devidp", "github.com/other/xml", false, true},
		{"devidp", "encoding/xml", true, false},
		{"", "github.com/google/uuid", false, true},
		{"apiv1", module, false, true},
		{"apiv1", "encoding/json", true, false},
		{"apiclient", module + "/apiv1", false, false},
		{"apiclient", module + "/web/api", false, true},
		{"web/api", module + "/apiclient", false, true},
		{"web/api", module + "/apiv1", false, false},
		{"lockout", module + "/admin", false, true},
	} {
		if got := banned(tc.from, tc.dep, tc.std); got != tc.want {
			t.Errorf("%q depending on %s: banned=%v, want %v", tc.from, tc.dep, got, tc.want)
		}
	}
}
