package xmldsig

// nsScope is a stack of namespace bindings (declarations in scope, or
// declarations rendered by canonicalisation) with lookups that cost O(1)
// however many bindings an input puts in scope: a backward scan while the
// stack is short (the common case, no hashing), an index by prefix once it
// grows past scanLimit.
type nsScope struct {
	decls []Namespace
	// prev[i] is the index of the binding of decls[i].prefix that decls[i]
	// shadows, or -1; kept only while idx is in use.
	prev []int32
	idx  map[string]int32
}

// scanLimit is the stack length up to which lookups scan.
const scanLimit = 16

func (s *nsScope) reset() {
	s.decls = s.decls[:0]
	s.prev = s.prev[:0]
	if s.idx != nil {
		clear(s.idx)
		s.idx = nil
	}
}

func (s *nsScope) push(d Namespace) {
	if s.idx == nil && len(s.decls) >= scanLimit {
		s.idx = make(map[string]int32, 2*scanLimit)
		s.prev = s.prev[:0]
		for i, e := range s.decls {
			s.prev = append(s.prev, s.index(e.prefix))
			s.idx[e.prefix] = int32(i)
		}
	}
	if s.idx != nil {
		s.prev = append(s.prev, s.index(d.prefix))
		s.idx[d.prefix] = int32(len(s.decls))
	}
	s.decls = append(s.decls, d)
}

func (s *nsScope) index(prefix string) int32 {
	if i, ok := s.idx[prefix]; ok {
		return i
	}
	return -1
}

// truncate pops the bindings above mark.
func (s *nsScope) truncate(mark int) {
	if s.idx != nil {
		for i := len(s.decls) - 1; i >= mark; i-- {
			if p := s.prev[i]; p >= 0 {
				s.idx[s.decls[i].prefix] = p
			} else {
				delete(s.idx, s.decls[i].prefix)
			}
		}
		s.prev = s.prev[:mark]
	}
	s.decls = s.decls[:mark]
}

// lookup returns the innermost binding of prefix.
func (s *nsScope) lookup(prefix string) (string, bool) {
	if s.idx != nil {
		if i, ok := s.idx[prefix]; ok {
			return s.decls[i].uri, true
		}
		return "", false
	}
	for i := len(s.decls) - 1; i >= 0; i-- {
		if s.decls[i].prefix == prefix {
			return s.decls[i].uri, true
		}
	}
	return "", false
}

// innermost tells whether decls[i] is the innermost binding of its prefix.
func (s *nsScope) innermost(i int) bool {
	p := s.decls[i].prefix
	if s.idx != nil {
		return s.idx[p] == int32(i)
	}
	for j := len(s.decls) - 1; j > i; j-- {
		if s.decls[j].prefix == p {
			return false
		}
	}
	return true
}
