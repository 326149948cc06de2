// Command lanyard-gwload is the helper of scripts/gatewayload.sh, the load
// run of Lanyard's forward-auth and reverse proxy:
//
//	lanyard-gwload upstream -addr 127.0.0.1:0 -addr-file FILE
//	    serve a tiny application (200, 13 bytes) and write its address to FILE
//	lanyard-gwload session (-data DIR | -database URL) [-login NAME] [-roles a,b]
//	    make an account of the default tenant in the store and print the ID
//	    of a fresh session of it, to send as the lanyard_session cookie
//
// It is a test tool: it writes to the store directly and serves nothing
// but loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lanyard-gwload:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: lanyard-gwload upstream|session [flags]")
	}
	switch args[0] {
	case "upstream":
		return upstream(args[1:])
	case "session":
		return openSession(args[1:])
	}
	return fmt.Errorf("unknown command %q: want upstream or session", args[0])
}

// upstream serves the application behind the proxies until SIGINT/SIGTERM.
func upstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `address` to listen on")
	addrFile := fs.String("addr-file", "", "`file` to write the bound address to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		return fmt.Errorf("listen on %s: the load run stays on loopback", *addr)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o600); err != nil {
			return fmt.Errorf("write the address: %w", err)
		}
	}
	body := []byte("hello, world\n")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openSession makes the account (if new) and prints a session ID.
func openSession(args []string) error {
	fs := flag.NewFlagSet("session", flag.ContinueOnError)
	data := fs.String("data", "", "`directory` of the SQLite database")
	database := fs.String("database", "", "PostgreSQL `URL`")
	login := fs.String("login", "loadtest", "`login` of the account")
	roles := fs.String("roles", "staff", "comma-separated `roles` of the account")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		db  *sqlstore.DB
		err error
	)
	switch {
	case *database != "":
		db, err = postgres.Open(ctx, *database)
	case *data != "":
		db, err = sqlite.Open(ctx, filepath.Join(*data, "lanyard.db"))
	default:
		return errors.New("session: give -data DIR or -database URL")
	}
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tenant, err := db.Tenant(ctx, lanyard.DefaultTenantSlug)
	if err != nil {
		return fmt.Errorf("default tenant (start lanyard serve on this store first): %w", err)
	}
	user, err := db.UserByLogin(ctx, tenant.ID, *login)
	if errors.Is(err, lanyard.ErrNotFound) {
		user = lanyard.User{TenantID: tenant.ID, Login: *login, Email: *login + "@example.com", FirstName: "Load", LastName: "Test", WebAccess: true}
		for _, r := range lanyard.ParseRoles(*roles) {
			user.Roles = append(user.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
		}
		user.Normalize()
		err = db.CreateUser(ctx, &user)
	}
	if err != nil {
		return fmt.Errorf("account %s: %w", *login, err)
	}
	id, _, err := session.NewManager(db, session.Options{}).Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{ClientIP: "127.0.0.1", UserAgent: "lanyard-gwload"})
	if err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}
