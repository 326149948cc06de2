// Command lanyard is Lanyard's single binary: the server (lanyard serve) and
// the administration commands (tenant, user, admin) over the same store.
// Run "lanyard -h" for the list of commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lanyard-sso/lanyard/internal/gcdefault"
)

func main() {
	gcdefault.Apply(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runAs(ctx, os.Args[0], os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, errorText(err))
		os.Exit(exitCode(err))
	}
}
