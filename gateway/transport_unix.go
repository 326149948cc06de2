//go:build unix

package gateway

import (
	"net"
	"syscall"
)

// directPath: the direct path can tell a clean idle connection here.
const directPath = true

// idleConnClean reports whether nothing arrived on an idle connection
// since its last answer was read: no byte and no close. Bytes an upstream
// sends outside an answer (more than its Content-Length said, a 408 before
// closing) would otherwise be read as the answer to the next request,
// which may be another user's. It peeks without blocking and without
// consuming.
func idleConnClean(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	clean := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read, still open. A byte, or 0 bytes (the
		// upstream closed), or any other error: not reusable.
		clean = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && clean
}
