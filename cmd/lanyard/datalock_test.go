package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestOneServePerDataDirectory runs real processes on one SQLite data
// directory: a second serve is refused with a message naming the first
// one's pid; administration commands still work beside the server (the
// newcomer's 'lanyard admin create' while the demo runs), and what they
// write is seen by it; once the first server is killed (-9, no clean-up),
// a new one starts.
func TestOneServePerDataDirectory(t *testing.T) {
	data := t.TempDir()
	env := []string{"LANYARD_DATA=" + data}
	first := startFaultServer(t, env)
	pid := first.cmd.Process.Pid

	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("a second serve on the same data directory still runs after 20s")
	}
	if err == nil {
		t.Fatalf("a second serve on the same data directory exited 0:\n%s", out)
	}
	for _, want := range []string{"in use by another lanyard serve", fmt.Sprintf("(pid %d)", pid), data} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal of the second serve lacks %q:\n%s", want, out)
		}
	}

	// Administration commands write beside the running server.
	if _, stderr, code := execLanyard(t, env, faultAdminPassword+"\n", "admin", "create", "newcomer"); code != 0 {
		t.Fatalf("admin create while serve runs: exit %d: %s", code, stderr)
	}
	if _, stderr, code := execLanyard(t, env, "", "tenant", "create", "acme"); code != 0 {
		t.Fatalf("tenant create while serve runs: exit %d: %s", code, stderr)
	}
	first.checkLogin("newcomer", faultAdminPassword)

	// kill -9 leaves no stale lock: the kernel drops it with the process.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	second := startFaultServer(t, env)
	second.checkLogin("newcomer", faultAdminPassword)
}
