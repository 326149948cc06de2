package gcdefault

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// A process started without GOGC collects at Percent; with GOGC,
// GOGC decides. Each case runs this test binary again as a process with
// that environment, which applies the default as the servers' main does.
func TestGCDefault(t *testing.T) {
	if os.Getenv("LANYARD_GC_CHILD") == "1" {
		Apply(os.LookupEnv)
		os.Stdout.WriteString("percent " + strconv.Itoa(debug.SetGCPercent(100)) + "\n")
		return
	}
	for _, c := range []struct {
		env  []string
		want string
	}{
		{nil, strconv.Itoa(Percent)},
		{[]string{"GOGC=150"}, "150"},
		{[]string{"GOGC=100"}, "100"},
		{[]string{"GOGC=off"}, "-1"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestGCDefault$")
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOGC=") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(append(env, c.env...), "LANYARD_GC_CHILD=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.env, err, out)
		}
		got := ""
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "percent "); ok {
				got = v
			}
		}
		if got != c.want {
			t.Errorf("environment %v: GC percent %q, want %s", c.env, got, c.want)
		}
	}
}
