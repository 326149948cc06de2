package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadRun builds lanyard and runs a small load of both modes against
// it on SQLite: every login must succeed, also with more clients than the
// ACS takes at once from one address (each client has its own).
func TestLoadRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lanyard and starts it")
	}
	bin := filepath.Join(t.TempDir(), "lanyard")
	build := exec.Command("go", "build", "-o", bin, "../lanyard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build lanyard: %v\n%s", err, out)
	}
	for _, mode := range []string{"idp", "sp"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, []string{"-lanyard", bin, "-n", "60", "-c", "2,6", "-users", "20", "-mode", mode, "-format", "markdown"}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			rows := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(rows) != 4 {
				t.Fatalf("want a header and 2 rows:\n%s", stdout.String())
			}
			for _, row := range rows[2:] {
				cells := strings.Split(row, "|")
				if strings.TrimSpace(cells[4]) != "60" || strings.TrimSpace(cells[5]) != "0" {
					t.Errorf("row %q: want 60 logins, 0 errors\n%s", row, stderr.String())
				}
			}
		})
	}
}

func TestProcessCPU(t *testing.T) {
	d, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d < 0 || d > time.Hour {
		t.Errorf("CPU time of this process: %v", d)
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("no error for a missing process")
	}
}

func TestParseOptions(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"-c", "0"}, {"-c", "a"}, {"-mode", "x"}, {"-n", "0"}, {"extra"}, {"-rounds", "0"},
		{"-anchor-database", "postgres://u@127.0.0.1/anchor"}, {"-anchor", "x", "-anchor-database", "postgres://u@127.0.0.1/anchor"}} {
		if _, err := parseOptions(args, &stderr); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	o, err := parseOptions([]string{"-database", "postgres://u@127.0.0.1/db", "-c", "1, 2"}, &stderr)
	if err != nil || o.engineLabel != "postgres" || len(o.concurrency) != 2 {
		t.Errorf("options %+v, %v", o, err)
	}
	o, err = parseOptions([]string{"-database", "postgres://u@127.0.0.1/db", "-anchor", "x", "-anchor-database", "postgres://u@127.0.0.1/anchor"}, &stderr)
	if err != nil || o.anchorDB != "postgres://u@127.0.0.1/anchor" {
		t.Errorf("options %+v, %v", o, err)
	}
}
