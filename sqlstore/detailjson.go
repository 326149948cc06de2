package sqlstore

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// encodeDetail returns the JSON object of an audit event's Detail, byte for
// byte what json.Marshal makes of a map[string]string: keys in byte order,
// strings escaped as encoding/json escapes them (HTML-safe). It is written
// out because reflection made json.Marshal a couple of percent of a login's
// CPU; TestEncodeDetailMatchesJSON and FuzzEncodeDetail hold it to
// json.Marshal. m must not be nil (json.Marshal makes "null" of nil).
func encodeDetail(m map[string]string) string {
	// The pairs, then their order: sorting small indexes rather than the
	// strings themselves spares the write barrier on every swap. Most
	// details have a dozen keys or fewer.
	var pairsSmall [16][2]string
	var orderSmall [16]int
	pairs, order := pairsSmall[:0], orderSmall[:0]
	if len(m) > len(pairsSmall) {
		pairs, order = make([][2]string, 0, len(m)), make([]int, 0, len(m))
	}
	size := 2
	for k, v := range m {
		order = append(order, len(pairs))
		pairs = append(pairs, [2]string{k, v})
		size += len(k) + len(v) + 6
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(pairs[i][0], pairs[j][0]) })
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for n, i := range order {
		if n > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, pairs[i][0])
		b.WriteByte(':')
		writeJSONString(&b, pairs[i][1])
	}
	b.WriteByte('}')
	return b.String()
}

// jsonPlain marks the ASCII bytes encoding/json copies as they are: the
// printable ones but for the quote, the backslash and the HTML specials
// < > & (escaped so that JSON inlined in HTML cannot close a tag).
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

const lowerHex = "0123456789abcdef"

// writeJSONString writes s as a quoted JSON string: the short escapes
// \" \\ \b \f \n \r \t, \u00XX for the other control bytes and < > &,
// \ufffd for each byte that is not part of valid UTF-8, and \u2028 and
// \u2029 (line terminators in JavaScript).
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b.WriteString(s[done:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(lowerHex[c>>4])
				b.WriteByte(lowerHex[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(s[done:i])
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			b.WriteString(s[done:i])
			b.WriteString(`\u202`)
			b.WriteByte(lowerHex[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		done = i
	}
	b.WriteString(s[done:])
	b.WriteByte('"')
}
