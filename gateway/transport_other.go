//go:build !unix

package gateway

import "net"

// directPath: without a way to peek at an idle connection, every request
// goes through http.Transport, whose reader notices unsolicited bytes.
const directPath = false

func idleConnClean(net.Conn) bool { return false }
