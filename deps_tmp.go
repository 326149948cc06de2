//go:build tools

// Package lanyard: this file pins dependencies until code imports them.
package lanyard

import (
	_ "github.com/beevik/etree"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/term"
	_ "modernc.org/sqlite"
)
