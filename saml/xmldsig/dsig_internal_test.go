package xmldsig

import (
	"encoding/base64"
	"strings"
	"testing"
)

// sameBase64 agrees with comparing StripSpace's copy, over the family of
// whitespace (space, tab, CR, LF, none), positions, and near misses.
func TestSameBase64AgreesWithStripSpace(t *testing.T) {
	const b64 = "TUlJQ2FqQ0NBZE9nQXdJQkFnSUJBREFOQmdrcWhraUc5dzBCQVE9PQ=="
	texts := []string{
		"", " ", "\n\t\r ", b64, " " + b64, b64 + "\n", "\n" + b64[:20] + "\r\n" + b64[20:] + "\n",
		strings.Join(strings.Split(b64, ""), "\t"), b64[:len(b64)-1], b64 + "=", b64[1:], "x" + b64,
		strings.Replace(b64, "Q", "q", 1), b64[:10] + " " + b64[11:], b64[:30] + "\v" + b64[30:],
	}
	// A certificate-sized value, compared 64 bytes at a time between
	// line breaks: lines of 64 and 76 characters, one line, breaks
	// anywhere, and a difference inside a compared run.
	long := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a certificate of some length ", 12)))
	lines := func(n int, sep string) string {
		var parts []string
		for i := 0; i < len(long); i += n {
			parts = append(parts, long[i:min(i+n, len(long))])
		}
		return strings.Join(parts, sep)
	}
	texts = append(texts, long, lines(64, "\n"), lines(76, "\r\n"), lines(63, " "), lines(65, "\t\n"), lines(1, "\n"),
		"\n"+long+"\n", long[:100]+"X"+long[101:], lines(64, "\n")[:200]+"X"+lines(64, "\n")[201:], long[:len(long)-1], long+"A", long[64:])
	for _, text := range texts {
		for _, want := range []string{b64, "", "QQ==", long, long[:128], long[64:]} {
			if got, exp := sameBase64(text, want), StripSpace(text) == want; got != exp {
				t.Errorf("sameBase64(%q, %q) = %v, StripSpace comparison says %v", text, want, got, exp)
			}
		}
	}
}

// decodeInto decodes values with and without XML whitespace alike, into
// the buffer when it fits and into a new slice when not, and refuses what
// is not base64.
func TestDecodeIntoWhitespaceAndSizes(t *testing.T) {
	raw := []byte("a signature value of some length, 48 bytes long!")
	enc := base64.StdEncoding.EncodeToString(raw)
	for _, text := range []string{enc, enc[:16] + "\r\n" + enc[16:], enc[:16] + " \t" + enc[16:] + "\n", " " + enc + " "} {
		for _, size := range []int{len(raw), 64, 8} {
			buf := make([]byte, size)
			got, err := decodeInto(buf, text)
			if err != nil || string(got) != string(raw) {
				t.Errorf("decodeInto(buf[%d], %q) = %q, %v", size, text, got, err)
			}
		}
	}
	for _, bad := range []string{"not base64!", enc + "*", enc[:len(enc)-1]} {
		if _, err := decodeInto(make([]byte, 64), bad); err == nil {
			t.Errorf("decodeInto(%q) accepted it", bad)
		}
	}
}
