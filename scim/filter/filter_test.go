package filter

import (
	"fmt"
	"strings"
	"testing"
)

// show renders a parsed filter with explicit grouping, to check
// precedence and structure.
func show(e Expr) string {
	switch x := e.(type) {
	case *Logical:
		return "(" + show(x.Left) + " " + x.Op + " " + show(x.Right) + ")"
	case *Not:
		return "not(" + show(x.X) + ")"
	case *Compare:
		if x.Op == "pr" {
			return x.Path.String() + " pr"
		}
		return fmt.Sprintf("%s %s %#v", x.Path.String(), x.Op, x.Value)
	case *ValuePath:
		s := x.Attr.String() + "[" + show(x.Filter) + "]"
		if x.Compare != nil {
			s += "." + show(x.Compare)
		}
		return s
	}
	return "?"
}

// parseCases are filters with their structure, grouping made explicit.
var parseCases = []struct{ in, want string }{
	{`userName eq "bjensen"`, `userName eq "bjensen"`},
	{`userName Eq "x"`, `userName eq "x"`},
	{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
	{`userName sw "J"`, `userName sw "J"`},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
	{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "7"`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "7"`},
	{`title pr`, `title pr`},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
	{`meta.lastModified ge "x"`, `meta.lastModified ge "x"`},
	{`meta.lastModified lt "x"`, `meta.lastModified lt "x"`},
	{`meta.lastModified le "x"`, `meta.lastModified le "x"`},
	{`title pr and userType eq "Employee"`, `(title pr and userType eq "Employee")`},
	{`title pr or userType eq "Intern"`, `(title pr or userType eq "Intern")`},
	{`a eq 1 or b eq 2 and c eq 3`, `(a eq 1 or (b eq 2 and c eq 3))`},
	{`a eq 1 and b eq 2 or c eq 3`, `((a eq 1 and b eq 2) or c eq 3)`},
	{`(a eq 1 or b eq 2) and c eq 3`, `((a eq 1 or b eq 2) and c eq 3)`},
	{`a eq 1 AND b eq 2 OR c eq 3`, `((a eq 1 and b eq 2) or c eq 3)`},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, `(userType eq "Employee" and (emails co "example.com" or emails.value co "example.org"))`},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, `(userType ne "Employee" and not((emails co "example.com" or emails.value co "example.org")))`},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, `(userType eq "Employee" and emails[(type eq "work" and value co "@example.com")])`},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, `(emails[(type eq "work" and value co "@example.com")] or ims[(type eq "xmpp" and value co "@foo.com")])`},
	{`emails[type eq "work"].value eq "a@b"`, `emails[type eq "work"].value eq "a@b"`},
	{`active eq true`, `active eq true`},
	{`manager eq null`, `manager eq <nil>`},
	{`x gt 3.5`, `x gt 3.5`},
	{`x eq -2`, `x eq -2`},
	{`x eq "tab\tquote\" \u00e9"`, `x eq "tab\tquote\" é"`},
	{"  userName  eq\t\"x\"  ", `userName eq "x"`},
	{`((userName eq "x"))`, `userName eq "x"`},
	{`not (not (a pr))`, `not(not(a pr))`},
}

func parseTable() []string {
	var out []string
	for _, c := range parseCases {
		out = append(out, c.in)
	}
	return out
}

func refuseTable() []string { return refuseCases }

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.in, func(t *testing.T) {
			e, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := strings.ReplaceAll(show(e), "%!", ""); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// refuseCases are filters Parse refuses.
var refuseCases = []string{
	``, `   `, `userName`, `userName eq`, `userName zz "x"`, `eq "x"`, `"x" eq "x"`, `userName eq x`,
	`userName eq "x" and`, `and userName eq "x"`, `userName eq "x" or or b pr`, `(userName eq "x"`, `userName eq "x")`,
	`()`, `not userName eq "x"`, `not`, `emails[type eq "work"`, `emails[]`, `emails type eq "work"]`,
	`emails[type eq "work"].`, `emails[type eq "work"].value`, `emails.value[type eq "x"]`, `userName eq "unterminated`,
	`userName eq "bad \x escape"`, `user$ eq "x"`, `1abc eq "x"`, `a.b.c eq "x"`, `userName eq "x" "y"`,
	`userName eq ["x"]`, `userName pr pr`, `active eq False`, `active eq TRUE`, `manager eq Null`, "userName eq \"\xff\"",
	strings.Repeat("(", MaxDepth+1) + "a pr" + strings.Repeat(")", MaxDepth+1),
	strings.Repeat("not (", MaxDepth+1) + "a pr" + strings.Repeat(")", MaxDepth+1),
	`a eq "` + strings.Repeat("x", MaxLength) + `"`,
}

func TestParseRefuses(t *testing.T) {
	for _, in := range refuseCases {
		t.Run(in[:min(len(in), 40)], func(t *testing.T) {
			if e, err := Parse(in); err == nil {
				t.Fatalf("parsed as %s", show(e))
			} else if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	for _, c := range []struct{ in, path, filter, sub string }{
		{`active`, `active`, ``, ``},
		{`name.familyName`, `name.familyName`, ``, ``},
		{`members[value eq "2819c223"]`, `members`, `value eq "2819c223"`, ``},
		{`emails[type eq "work"].value`, `emails`, `type eq "work"`, `value`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, ``, ``},
		{`addresses[type eq "work" and primary eq true].streetAddress`, `addresses`, `(type eq "work" and primary eq true)`, `streetAddress`},
	} {
		t.Run(c.in, func(t *testing.T) {
			p, f, sub, err := ParsePath(c.in)
			if err != nil {
				t.Fatal(err)
			}
			fs := ""
			if f != nil {
				fs = show(f)
			}
			if p.String() != c.path || fs != c.filter || sub != c.sub {
				t.Fatalf("got %s [%s] .%s", p.String(), fs, sub)
			}
		})
	}
	for _, in := range []string{``, `members[`, `members[value eq "x"] extra`, `members[value eq "x"].`, `[value eq "x"]`, `a..b`, `emails[type eq "work"].value eq "x"`} {
		if _, _, _, err := ParsePath(in); err == nil {
			t.Errorf("ParsePath(%q) accepted", in)
		}
	}
}

// FuzzParse: any input parses or is an *Error, within the bounds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`userName eq "x"`, `emails[type eq "work"].value co "@"`, `not (a pr) or (b gt 1 and c le "z")`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := Parse(s); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
		}
		_, _, _, _ = ParsePath(s)
	})
}
