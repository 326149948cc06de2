package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// serveLockFile is the lock file of a data directory, held by the one
// serve process that uses it; it holds that process's ID.
const serveLockFile = "serve.lock"

// lockDataDir takes the serve lock of the SQLite data directory dir: an OS
// file lock (flock), released by the kernel when the process ends however
// it ends, so a crash leaves no stale lock. A second serve on the same
// directory is refused with the ID of the first. Administration commands
// do not take it: they are short writers that SQLite's own locking queues
// beside the server (each waits up to its busy timeout), so they keep
// working while serve runs. The returned function releases the lock.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, serveLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf("another lanyard serve (pid %d)", pid)
			}
		}
		return nil, fmt.Errorf("the data directory %s is in use by %s: one server per SQLite database. Stop it first, or give this server its own --data (several servers share one database only on PostgreSQL, --database). Administration commands may run beside it", dir, holder)
	}
	// The lock is ours: say who holds it.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
