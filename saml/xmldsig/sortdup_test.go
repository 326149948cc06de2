package xmldsig

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestDuplicateAttributes: a duplicate (namespace, local name) is refused
// and distinct ones accepted, however many attributes the element has
// (the check switches from pairs to a hash set above eight), wherever the
// two copies sit, and whether the copies share a prefix or use two
// prefixes bound to the same namespace.
func TestDuplicateAttributes(t *testing.T) {
	for n := 2; n <= 60; n++ {
		// n unqualified attributes, the one at dupJ a copy of the one at
		// dupI (none when dupJ < 0).
		attrs := func(dupI, dupJ int) string {
			var b strings.Builder
			for i := 0; i < n; i++ {
				if i == dupJ {
					fmt.Fprintf(&b, ` a%d="x"`, dupI)
				} else {
					fmt.Fprintf(&b, ` a%d="x"`, i)
				}
			}
			return b.String()
		}
		decls := ` xmlns:p0="urn:0" xmlns:p1="urn:1" xmlns:p2="urn:2" xmlns:p3="urn:3" xmlns:q0="urn:0" xmlns:q1="urn:1" xmlns:q2="urn:2" xmlns:q3="urn:3"`
		if d, err := Parse([]byte(`<r`+attrs(-1, -1)+`/>`), Limits{}); err != nil {
			t.Fatalf("%d distinct attributes refused: %v", n, err)
		} else {
			d.Release()
		}
		for _, pos := range [][2]int{{0, 1}, {0, n - 1}, {n / 2, n - 1}, {n - 2, n - 1}} {
			if pos[0] >= pos[1] {
				continue
			}
			doc := `<r` + attrs(pos[0], pos[1]) + `/>`
			if _, err := Parse([]byte(doc), Limits{}); err == nil || !strings.Contains(err.Error(), "duplicate attribute") {
				t.Fatalf("%d attributes, a%d twice (at %d and %d): %v", n, pos[0], pos[0], pos[1], err)
			}
		}
		// Qualified duplicates: n unqualified attributes plus p1:a and
		// p1:a (or q1:a, the same namespace).
		for _, kind := range []string{"same prefix", "other prefix"} {
			var b strings.Builder
			for i := 0; i < n-2; i++ {
				fmt.Fprintf(&b, ` a%d="x"`, i)
			}
			second := "p1:a"
			if kind == "other prefix" {
				second = "q1:a"
			}
			doc := `<r` + decls + ` p1:a="1"` + b.String() + ` ` + second + `="2"/>`
			if n+8 > maxAttrs {
				continue
			}
			if _, err := Parse([]byte(doc), Limits{}); err == nil || !strings.Contains(err.Error(), "duplicate attribute") {
				t.Fatalf("%d attributes, %s: %v", n, kind, err)
			}
			ok := `<r` + decls + ` p1:a="1"` + b.String() + ` p2:a="2"/>`
			if d, err := Parse([]byte(ok), Limits{}); err != nil {
				t.Fatalf("%d attributes, p1:a and p2:a refused: %v", n, err)
			} else {
				d.Release()
			}
		}
	}
}

// TestKeyedSortsAgree: the sorts of long lists on seven- and eight-byte
// keys order exactly as comparing the strings does, for strings that share
// long prefixes, are prefixes of one another, or differ in their first
// byte, for lists short and long (the two kinds of keys: up to 256
// elements and beyond).
func TestKeyedSortsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", "a", "b", "q", "urn:", "urn:q:", "http://www.w3.org/", "xs", "é", "~", "0", "zzzzzzzz", "aaaaaaaa"}
	word := func() string {
		var b strings.Builder
		for k := r.IntN(4); k >= 0; k-- {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	w := &c14nWriter{}
	for round := 0; round < 2000; round++ {
		n := 1 + r.IntN(40)
		if round%10 == 0 {
			n = 200 + r.IntN(120)
		}
		ns := make([]Namespace, n)
		attrs := make([]Attr, n)
		for i := range ns {
			ns[i] = Namespace{prefix: word(), uri: fmt.Sprint(i)}
			attrs[i] = Attr{space: word(), local: word()}
		}
		want := slices.Clone(ns)
		slices.SortStableFunc(want, cmpPrefix)
		got := slices.Clone(ns)
		w.sortNamespaces(got)
		for i := range got {
			if got[i].prefix != want[i].prefix {
				t.Fatalf("namespaces %v: got %v, want %v", ns, got, want)
			}
		}
		var ptrs []*Attr
		for i := range attrs {
			ptrs = append(ptrs, &attrs[i])
		}
		wantA := slices.Clone(ptrs)
		slices.SortStableFunc(wantA, cmpAttr)
		gotA := slices.Clone(ptrs)
		w.sortAttrs(gotA)
		for i := range gotA {
			if cmpAttr(gotA[i], wantA[i]) != 0 {
				t.Fatalf("attributes: got %v at %d, want %v", *gotA[i], i, *wantA[i])
			}
		}
	}
}
