package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// releaseVersion is the release's version (v1.2.3), set by
// scripts/release.sh with -ldflags "-X main.releaseVersion=v1.2.3"; empty
// in other builds, which show the module version Go derives from the VCS.
var releaseVersion string

// versionText describes the build: module version, VCS revision and time
// (when built from a checkout), Go version and platform.
func versionText(info *debug.BuildInfo, ok bool) string {
	var b strings.Builder
	version, module, goVersion := "(unknown)", "github.com/lanyard-sso/lanyard", runtime.Version()
	settings := map[string]string{}
	if ok && info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.Main.Path != "" {
			module = info.Main.Path
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	if releaseVersion != "" {
		version = releaseVersion
	}
	fmt.Fprintf(&b, "lanyard %s\n", version)
	fmt.Fprintf(&b, "  module:   %s\n", module)
	if rev := settings["vcs.revision"]; rev != "" {
		line := rev
		if t := settings["vcs.time"]; t != "" {
			line += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			line += ", with uncommitted changes"
		}
		fmt.Fprintf(&b, "  revision: %s\n", line)
	} else {
		b.WriteString("  revision: unknown (built without version control information)\n")
	}
	// The build date is the commit's: a build's bytes depend on its
	// sources only, so two builds of one commit are identical.
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "  built:    %s (commit time)\n", t)
	}
	fmt.Fprintf(&b, "  go:       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// version prints the build information ("lanyard version", "lanyard
// --version").
func (a *app) version(_ context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "print the version and build information: module version, revision, Go version")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	_, err := io.WriteString(a.stdout, versionText(info, ok))
	return err
}
