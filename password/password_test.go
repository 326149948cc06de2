package password

import (
	"errors"
	"strings"
	"testing"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h, err := HashWith("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected PHC string %q", h)
	}
	if err := Verify("correct horse battery", h); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if err := Verify("correct horse batterY", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: got %v, want ErrMismatch", err)
	}
	h2, _ := HashWith("correct horse battery", fast)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=x$a$b", "$argon2id$v=18$m=64,t=1,p=1$AAAA$AAAA"} {
		if err := Verify("pw", h); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a malformed-hash error", h, err)
		}
	}
}

func TestDefaultParamsRoundTrip(t *testing.T) {
	h, err := Hash("a-long-enough-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify("a-long-enough-password", h); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateAndCheck(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		pw, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(pw); err != nil {
			t.Fatalf("generated password %q refused: %v", pw, err)
		}
		if seen[pw] {
			t.Fatal("duplicate generated password")
		}
		seen[pw] = true
	}
	if Check("short") == nil {
		t.Fatal("short password accepted")
	}
}
