package ldapsync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lanyard-sso/lanyard"
)

// inChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: a filter
// on memberOf with it matches members at any depth of nesting.
const inChainRule = "1.2.840.113556.1.4.1941"

// uacAccountDisable is bit 2 of Active Directory's userAccountControl.
const uacAccountDisable = 0x2

// Person is a directory entry as an account would hold it.
type Person struct {
	DN        string
	Login     string
	Email     string
	FirstName string
	LastName  string
	Disabled  bool
	Groups    []string // group names, nested memberships included, sorted
	Mark      string   // modifyTimestamp or uSNChanged of the entry
}

// groupIndex holds the directory's groups: their names, the groups each
// belongs to (for nesting), and, when memberships are read from the
// groups, the direct groups of each member. Keys are lower-cased DNs.
type groupIndex struct {
	names   map[string]string
	parents map[string][]string
	members map[string][]string // member DN → groups (member/uniqueMember, in_chain modes)
}

func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		var parts []string
		for _, rdn := range p.RDNs {
			var avas []string
			for _, a := range rdn.Attributes {
				avas = append(avas, strings.ToLower(a.Type)+"="+strings.ToLower(a.Value))
			}
			parts = append(parts, strings.Join(avas, "+"))
		}
		return strings.Join(parts, ",")
	}
	return strings.ToLower(strings.ReplaceAll(dn, " ", ""))
}

// loadGroups reads every group once (paged).
func (c *Conn) loadGroups(ctx context.Context) (*groupIndex, error) {
	d := c.dir
	gi := &groupIndex{names: map[string]string{}, parents: map[string][]string{}, members: map[string][]string{}}
	attrs := []string{d.GroupNameAttr, "memberOf"}
	memberAttr := ""
	switch d.Groups {
	case lanyard.GroupsMember:
		memberAttr = "member"
	case lanyard.GroupsUniqueMember:
		memberAttr = "uniqueMember"
	}
	if memberAttr != "" {
		attrs = append(attrs, memberAttr)
	}
	err := c.searchPaged(ctx, d.GroupBaseDN, d.GroupFilter, attrs, func(e *ldap.Entry) error {
		g := normDN(e.DN)
		name := e.GetAttributeValue(d.GroupNameAttr)
		if name == "" {
			name = rdnValue(e.DN)
		}
		gi.names[g] = name
		for _, p := range e.GetAttributeValues("memberOf") {
			gi.parents[g] = append(gi.parents[g], normDN(p))
		}
		if memberAttr != "" {
			for _, m := range e.GetAttributeValues(memberAttr) {
				md := normDN(m)
				gi.members[md] = append(gi.members[md], g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	if memberAttr != "" {
		// Nesting from the groups' own member lists: a group listed as a
		// member of another is its child.
		for child, gs := range gi.members {
			if _, isGroup := gi.names[child]; isGroup {
				gi.parents[child] = append(gi.parents[child], gs...)
			}
		}
	}
	return gi, nil
}

// loadInChain asks the directory, for each group the role map names, for
// its members at any depth.
func (c *Conn) loadInChain(ctx context.Context, gi *groupIndex, mapped []string) error {
	byName := map[string]string{}
	for dn, n := range gi.names {
		byName[strings.ToLower(n)] = dn
	}
	for _, name := range mapped {
		gdn, ok := byName[strings.ToLower(name)]
		if !ok {
			continue
		}
		filter := fmt.Sprintf("(&%s(memberOf:%s:=%s))", c.dir.UserFilter, inChainRule, ldap.EscapeFilter(gdn))
		err := c.searchPaged(ctx, c.dir.BaseDN, filter, []string{"1.1"}, func(e *ldap.Entry) error {
			m := normDN(e.DN)
			gi.members[m] = append(gi.members[m], gdn)
			return nil
		})
		if err != nil {
			return fmt.Errorf("members of %q at any depth: %w", name, err)
		}
	}
	return nil
}

// groupsOf returns the names of the groups of a user whose direct groups
// are direct (lower-cased DNs), following nested groups; cycles end.
func (gi *groupIndex) groupsOf(direct []string) []string {
	seen := map[string]bool{}
	queue := slices.Clone(direct)
	var names []string
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if seen[g] {
			continue
		}
		seen[g] = true
		name, ok := gi.names[g]
		if !ok {
			name = rdnValue(g)
		}
		names = append(names, name)
		queue = append(queue, gi.parents[g]...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func rdnValue(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return dn
	}
	return p.RDNs[0].Attributes[0].Value
}

// userAttributes are the attributes a user search asks for.
func (c *Conn) userAttributes() []string {
	d := c.dir
	attrs := []string{d.LoginAttr, d.EmailAttr, d.FirstNameAttr, d.LastNameAttr, "memberOf", "userAccountControl", "modifyTimestamp", "uSNChanged"}
	if d.DisabledAttr != "" {
		attrs = append(attrs, d.DisabledAttr)
	}
	return attrs
}

// person maps an entry.
func (c *Conn) person(e *ldap.Entry, gi *groupIndex) Person {
	d := c.dir
	p := Person{
		DN:        e.DN,
		Login:     strings.TrimSpace(e.GetAttributeValue(d.LoginAttr)),
		Email:     strings.TrimSpace(e.GetAttributeValue(d.EmailAttr)),
		FirstName: strings.TrimSpace(e.GetAttributeValue(d.FirstNameAttr)),
		LastName:  strings.TrimSpace(e.GetAttributeValue(d.LastNameAttr)),
	}
	if uac := e.GetAttributeValue("userAccountControl"); uac != "" {
		if n, err := strconv.ParseInt(uac, 10, 64); err == nil && n&uacAccountDisable != 0 {
			p.Disabled = true
		}
	}
	if d.DisabledAttr != "" {
		for _, v := range e.GetAttributeValues(d.DisabledAttr) {
			if strings.EqualFold(strings.TrimSpace(v), d.DisabledValue) {
				p.Disabled = true
			}
		}
	}
	switch d.Incremental {
	case lanyard.IncrementalUSNChanged:
		p.Mark = e.GetAttributeValue("uSNChanged")
	default:
		p.Mark = e.GetAttributeValue("modifyTimestamp")
	}
	if gi != nil {
		var direct []string
		if d.Groups == lanyard.GroupsMemberOf {
			for _, g := range e.GetAttributeValues("memberOf") {
				direct = append(direct, normDN(g))
			}
		} else {
			direct = gi.members[normDN(e.DN)]
		}
		p.Groups = gi.groupsOf(direct)
	}
	return p
}

// laterMark reports whether mark a comes after b: numbers (uSNChanged)
// by value, generalized times as text of equal form.
func laterMark(a, b string) bool {
	if b == "" {
		return a != ""
	}
	na, errA := strconv.ParseUint(a, 10, 64)
	nb, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		return na > nb
	}
	return a > b
}

// markFilter selects the entries changed at or after mark.
func markFilter(dir lanyard.LDAPDirectory, mark string) string {
	attr := "modifyTimestamp"
	if dir.Incremental == lanyard.IncrementalUSNChanged {
		attr = "uSNChanged"
	}
	return fmt.Sprintf("(&%s(%s>=%s))", dir.UserFilter, attr, ldap.EscapeFilter(mark))
}

// People streams the directory's users (those changed since mark when
// mark is set) to fn, mapped, page by page. Groups are read first, once.
func (c *Conn) People(ctx context.Context, mark string, mappedGroups []string, fn func(Person) error) error {
	gi, err := c.loadGroups(ctx)
	if err != nil {
		return err
	}
	if c.dir.Groups == lanyard.GroupsInChain {
		if err := c.loadInChain(ctx, gi, mappedGroups); err != nil {
			return err
		}
	}
	filter := c.dir.UserFilter
	if mark != "" {
		filter = markFilter(c.dir, mark)
	}
	return c.searchPaged(ctx, c.dir.BaseDN, filter, c.userAttributes(), func(e *ldap.Entry) error {
		return fn(c.person(e, gi))
	})
}

// Sample returns up to n users as they would be mapped: the "Test
// connection" of the admin UI.
func (c *Conn) Sample(ctx context.Context, n int) ([]Person, error) {
	gi, err := c.loadGroups(ctx)
	if err != nil {
		return nil, err
	}
	req := ldap.NewSearchRequest(c.dir.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, n, int(time.Duration(c.dir.Timeout).Seconds()), false,
		c.dir.UserFilter, c.userAttributes(), nil)
	res, err := c.l.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("search %s under %q: %w", c.dir.UserFilter, c.dir.BaseDN, err)
	}
	var out []Person
	if res != nil {
		for _, e := range res.Entries {
			if len(out) == n {
				break
			}
			out = append(out, c.person(e, gi))
		}
	}
	return out, nil
}
