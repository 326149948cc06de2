// Package browsertest starts headless Chromium (Debian package chromium)
// for end-to-end tests, and names the directory their screenshots go to.
//
// A missing Chromium skips the test with a clear message, except in CI
// (CI=true), where it fails it: a real-browser test never passes silently.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium, or skips (in CI fails) the test.
func Path(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "Chromium not found (Debian package chromium); scripts/test.sh installs it"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip("skipping: " + msg)
	return ""
}

// Start launches headless Chromium with a fresh profile for the test and
// returns its context; the browser stops when the test ends. The browser
// lives as long as the context of its first action, so that action runs
// here without a timeout; give each later step its own.
//
// The flags keep Chromium off the network it would otherwise call home to
// (the test machines have none, and Chromium stalls waiting for it), and
// --no-sandbox lets it run as root.
func Start(tb testing.TB) context.Context {
	tb.Helper()
	path := Path(tb)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		// Timers run at full speed in every tab, also those in the
		// background: tests that leave pages alone side by side count
		// what their scripts do on their own.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1024, 800),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(tb.Logf))
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

// ArtifactDir is where browser tests leave screenshots:
// LANYARD_TEST_ARTIFACTS (scripts/test.sh sets ./artifacts), else a new
// temporary directory that outlives the test.
func ArtifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("LANYARD_TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lanyard-artifacts-"); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}
