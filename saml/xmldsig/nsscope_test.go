package xmldsig

import (
	"fmt"
	"testing"
)

// TestNSScope: the indexed scope answers like the scan, across pushes and
// truncations around scanLimit.
func TestNSScope(t *testing.T) {
	var s nsScope
	var ref []Namespace
	lookupRef := func(p string) (string, bool) {
		for i := len(ref) - 1; i >= 0; i-- {
			if ref[i].prefix == p {
				return ref[i].uri, true
			}
		}
		return "", false
	}
	check := func() {
		t.Helper()
		for i := 0; i < 8; i++ {
			p := fmt.Sprintf("p%d", i)
			u1, ok1 := s.lookup(p)
			u2, ok2 := lookupRef(p)
			if u1 != u2 || ok1 != ok2 {
				t.Fatalf("lookup(%s) = %q %v, want %q %v (%d bindings)", p, u1, ok1, u2, ok2, len(ref))
			}
		}
		for i := range ref {
			in := true
			for j := i + 1; j < len(ref); j++ {
				if ref[j].prefix == ref[i].prefix {
					in = false
				}
			}
			if s.innermost(i) != in {
				t.Fatalf("innermost(%d) = %v", i, !in)
			}
		}
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 3*scanLimit; i++ {
			d := Namespace{fmt.Sprintf("p%d", i%5), fmt.Sprintf("urn:%d:%d", round, i)}
			s.push(d)
			ref = append(ref, d)
			check()
		}
		for _, mark := range []int{2 * scanLimit, scanLimit + 1, scanLimit / 2, 0} {
			s.truncate(mark)
			ref = ref[:mark]
			check()
		}
	}
}
