package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lanyard-sso/lanyard"
)

// TestAdminUIInChromium walks the admin UI in headless Chromium, once as an
// operator and once as a tenant administrator whom the IdP made one (with a
// break-glass password): create a tenant (the operator; the tenant
// administrator opens theirs), upload IdP metadata, change an attribute
// mapping and a group mapping, look at a refused login in the tracer,
// import a CSV (dry run, then for real), merge two accounts with the
// keyboard alone, and create an API token. Each administrator sees only
// what they manage, and the tenant administrator is refused another
// tenant's pages and the operators'. Every page is saved as a screenshot,
// and every page is checked for form controls without a label and for
// controls the Tab key cannot reach.
func TestAdminUIInChromium(t *testing.T) {
	t.Run("operator", func(t *testing.T) { walkAdminUI(t, true) })
	t.Run("tenant-admin", func(t *testing.T) { walkAdminUI(t, false) })
}

func walkAdminUI(t *testing.T, asOperator bool) {
	browser := newChromium(t)
	kind, who := "tenant-admin", "alice"
	if asOperator {
		kind, who = "operator", "root"
	}
	artifacts := filepath.Join(artifactDir(t), "admin-ui-"+kind)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", artifacts)
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	ctx := context.Background()
	if !asOperator {
		if _, err := e.admin.CreateTenant(ctx, "cli", "acme", "Acme Corp", nil); err != nil {
			t.Fatal(err)
		}
		acme, _ := e.admin.Tenant(ctx, "acme")
		alice := e.addUserIn(acme, "alice", adminPassword)
		e.updateUser(alice.ID, func(u *lanyard.User) {
			u.LoginMethod, u.Source = lanyard.LoginSSO, lanyard.SourceIdP
			u.SetRoles(lanyard.RoleIdP, []string{"admin", lanyard.RoleTenantAdmin})
		})
	}
	if _, _, err := e.admin.CreateAPIToken(ctx, "cli", "operators-token", []string{"read"}, 0); err != nil {
		t.Fatal(err)
	}

	shot := 0
	// step runs browser actions with a timeout, then screenshots the page
	// and checks its labels and keyboard reachability.
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		shot++
		checkFits(t, sctx, artifacts, fmt.Sprintf("%02d-%s", shot, name))
		checkNavigation(t, sctx, name, asOperator)
		checkLabels(t, sctx, name)
		checkKeyboard(t, sctx, name)
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	base := e.http.URL
	// until waits for a JavaScript condition: after a form post, the
	// element waited for may still be on the page being left.
	until := func(cond string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				ok, err := chromedp.Evaluate[bool](`document.readyState === "complete" && !!(`+cond+`)`)(ctx, tg)
				if err == nil && ok {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for %s: %w (last error: %v)", cond, ctx.Err(), err)
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}

	signIn := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(desktopWidth, windowHeight), chromedp.Navigate(base + "/admin/login")}
	if !asOperator {
		signIn = append(signIn, chromedp.SetValue(chromedp.CSS("#tenant"), "acme"))
	}
	signIn = append(signIn,
		chromedp.SendKeys(chromedp.CSS("#username"), who),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#tenants-heading")),
	)
	step("sign-in", signIn...)
	// What the home page offers: everything to an operator, the tenant
	// alone to its administrator.
	visible := func(sel string) bool {
		t.Helper()
		sctx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`!!document.querySelector(`+"`"+sel+"`"+`)`))
		if err != nil {
			t.Fatalf("look for %s: %v", sel, err)
		}
		return ok
	}
	for _, c := range []struct {
		sel                   string
		operator, tenantAdmin bool
	}{
		{"#tenant-form", true, false},
		{`a[href="/admin/routes"]`, true, false},
		{`a[href="/admin/tenants/default"]`, true, false},
		{`a[href="/t/default/saml/metadata"]`, true, false},
		{`a[href="/admin/tenants/acme"]`, false, true}, // the operator creates acme below
		{`a[href="/admin/tokens"]`, true, true},
		{`a[href="/admin/audit"]`, true, true},
	} {
		want := c.tenantAdmin
		if asOperator {
			want = c.operator
		}
		if got := visible(c.sel); got != want {
			t.Errorf("%s's home page: %s shown %v, want %v", kind, c.sel, got, want)
		}
	}
	wantKind := "administrator of tenant acme"
	if asOperator {
		wantKind = "operator of Lanyard (every tenant)"
	}
	if got := text("#admin-kind"); got != wantKind {
		t.Errorf("home page says %q, want %q", got, wantKind)
	}
	if asOperator {
		step("create-tenant",
			chromedp.SendKeys(chromedp.CSS("#t-slug"), "acme"),
			chromedp.SendKeys(chromedp.CSS("#t-display"), "Acme Corp"),
			chromedp.Submit(chromedp.CSS("#t-slug")),
			chromedp.WaitVisible(chromedp.CSS("#sp-heading")),
		)
	} else {
		step("open-tenant",
			chromedp.Click(chromedp.CSS(`a[href="/admin/tenants/acme"]`)),
			chromedp.WaitVisible(chromedp.CSS("#sp-heading")),
		)
	}
	if got := visible(`#s-email_domains[readonly]`); got == asOperator {
		t.Errorf("%s: email domains read-only %v", kind, got)
	}
	if got := text("#v-acs"); !strings.HasSuffix(got, "/t/acme/saml/acs") {
		t.Errorf("ACS URL on the copy panel: %q", got)
	}

	// Upload the IdP's metadata file.
	metadata := filepath.Join(t.TempDir(), "idp-metadata.xml")
	if err := os.WriteFile(metadata, []byte(idpMetadataWith(t, "https://idp.example.org/browser", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect")), 0o644); err != nil {
		t.Fatal(err)
	}
	step("idp-uploaded",
		chromedp.SetUploadFiles(chromedp.CSS("#metadata_file"), []string{metadata}),
		chromedp.Submit(chromedp.CSS("#metadata_file")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); !strings.Contains(got, "Connected IdP https://idp.example.org/browser") {
		t.Errorf("notice after the upload: %q", got)
	}

	// Change the mapping: SSO on, email from "mail", group staff → reader.
	step("mapping-changed",
		chromedp.SetValue(chromedp.CSS("#s-enabled"), "true"),
		chromedp.SetValue(chromedp.CSS("#s-attr\\.email"), "mail"),
		chromedp.SendKeys(chromedp.CSS("#new_group"), "staff"),
		chromedp.SendKeys(chromedp.CSS("#new_group_roles"), "reader"),
		chromedp.Submit(chromedp.CSS("#new_group")),
		until(`document.querySelector(".notice") && document.querySelector(".notice").textContent.includes("Saved")`),
	)
	acme, err := e.admin.Tenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !acme.SSO.Enabled || strings.Join(acme.SSO.Attributes.Email, ",") != "mail" || strings.Join(acme.SSO.GroupRoles["staff"], ";") != "reader" {
		t.Errorf("settings after the form: %+v", acme.SSO)
	}

	// A refused login: a response the IdP never signed, posted to the ACS.
	e.server.tenants.Invalidate()
	forged := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_f1" Version="2.0" IssueInstant="` +
		e.clock.Now().Add(-3*time.Second).UTC().Format(time.RFC3339) + `" Destination="` + base + `/t/acme/saml/acs"><saml:Issuer>https://idp.example.org/browser</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>`
	resp, err := http.PostForm(base+"/t/acme/saml/acs", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(forged))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("the forged response was accepted: %d", resp.StatusCode)
	}
	step("tracer-list",
		chromedp.Navigate(base+"/admin/tenants/acme/traces"),
		chromedp.WaitVisible(chromedp.CSS("tbody a")),
	)
	step("tracer-detail",
		chromedp.Click(chromedp.CSS("tbody a")),
		chromedp.WaitVisible(chromedp.CSS("#trace-hint")),
	)
	if doc := text("pre.doc"); !strings.Contains(doc, "_f1") {
		t.Errorf("decoded message not shown: %q", doc)
	}

	// CSV import: dry run, then for real.
	csv := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csv, []byte("login,email,firstname,lastname,status,login_method,roles\n"+
		"jdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor\njohn.doe,,John,,active,password,viewer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step("import-dry-run",
		chromedp.Navigate(base+"/admin/tenants/acme/import"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csv}),
		chromedp.Submit(chromedp.CSS("#file")),
		chromedp.WaitVisible(chromedp.CSS("#import-report")),
	)
	if got := text("#report-heading"); !strings.Contains(got, "Dry run") {
		t.Errorf("dry run report: %q", got)
	}
	step("import-done",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csv}),
		chromedp.SetValue(chromedp.CSS("#dry_run"), "false"),
		chromedp.Submit(chromedp.CSS("#file")),
		until(`document.querySelector("#report-heading") && document.querySelector("#report-heading").textContent.trim() === "Imported"`),
	)
	if got := text("#import-report"); !strings.Contains(got, "2 created") {
		t.Errorf("import report: %q", got)
	}
	step("users",
		chromedp.Navigate(base+"/admin/tenants/acme/users"),
		chromedp.WaitVisible(chromedp.CSS("#convert-form")),
	)
	step("user",
		chromedp.Navigate(base+"/admin/tenants/acme/users/jdoe@acme.com"),
		chromedp.WaitVisible(chromedp.CSS("main h1 code")),
	)
	step("user-delete-confirm",
		chromedp.Navigate(base+"/admin/tenants/acme/users/john.doe/delete"),
		chromedp.WaitVisible(chromedp.CSS("#delete-form")),
	)
	if asOperator {
		step("tenant-delete-confirm",
			chromedp.Navigate(base+"/admin/tenants/acme/delete"),
			chromedp.WaitVisible(chromedp.CSS("#delete-form")),
		)
	}

	// Merge with the keyboard alone: type, Tab, type, Enter; then Tab to
	// the confirm button and press Enter.
	step("merge-preview",
		chromedp.Navigate(base+"/admin/tenants/acme/merge"),
		chromedp.Focus(chromedp.CSS("#keep")),
		chromedp.KeyEvent("jdoe@acme.com"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("john.doe"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#preview-heading")),
	)
	if got := text("#preview-heading + ul"); !strings.Contains(got, "all roles: editor → editor,viewer") {
		t.Errorf("merge preview: %q", got)
	}
	kctx, cancel := context.WithTimeout(browser, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(kctx,
		chromedp.Focus(chromedp.CSS("#remove")),
		chromedp.KeyEvent(kb.Tab), // the preview button
		chromedp.KeyEvent(kb.Tab), // the merge button
	); err != nil {
		t.Fatal(err)
	}
	active, err := chromedp.Run(kctx, chromedp.Evaluate[string](`document.activeElement.textContent.trim()`))
	if err != nil {
		t.Fatal(err)
	}
	step("merged",
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if active != "Merge john.doe into jdoe@acme.com" {
		t.Errorf("Tab reached %q, not the merge button", active)
	}
	if _, err := e.admin.User(ctx, "acme", "john.doe"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
		t.Errorf("john.doe after the merge: %v", err)
	}
	if ev := e.auditEvents("user.merge"); len(ev) != 1 || ev[0].Actor != who {
		t.Errorf("merge audit: %+v", ev)
	}

	step("tokens",
		chromedp.Navigate(base+"/admin/tokens"),
		chromedp.SendKeys(chromedp.CSS("#t-name"), "ci"),
		chromedp.Submit(chromedp.CSS("#t-name")),
		chromedp.WaitVisible(chromedp.CSS("#new-secret")),
	)
	if got := visible("#t-tenant"); got != asOperator {
		t.Errorf("%s: the token form offers a choice of tenant: %v", kind, got)
	}
	if got := text("main"); strings.Contains(got, "operators-token") == !asOperator {
		t.Errorf("%s's token page, listing the operators' global token: %v", kind, strings.Contains(got, "operators-token"))
	}
	step("audit",
		chromedp.Navigate(base+"/admin/audit?tenant=acme"),
		chromedp.WaitVisible(chromedp.CSS("tbody")),
	)
	step("dashboard", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#tenants-heading")))
	if asOperator {
		step("applications", chromedp.Navigate(base+"/admin/routes"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if got := text("main h1"); got == "Access denied" {
			t.Errorf("the operator is refused the applications page")
		}
		return
	}
	// The tenant administrator is refused another tenant's pages (one
	// that exists, one that does not: the same page) and the operators'.
	for _, c := range []struct{ name, path string }{
		{"refused-other-tenant", "/admin/tenants/default/users"},
		{"refused-missing-tenant", "/admin/tenants/nope/users"},
		{"refused-applications", "/admin/routes"},
	} {
		step(c.name, chromedp.Navigate(base+c.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if got := text("main h1"); got != "Access denied" {
			t.Errorf("%s: %s shows %q, want Access denied", kind, c.path, got)
		}
	}
}

// The window widths every admin page must fit: a laptop's browser and a
// phone's.
const (
	desktopWidth = 1280
	phoneWidth   = 390
	windowHeight = 900
)

// checkFits shows the page at the desktop and the phone width, fails the
// test when it is wider than the window (a horizontal scroll bar), and
// saves a screenshot at each width as NAME-WIDTHpx.png. It leaves the
// window at the desktop width.
func checkFits(t *testing.T, ctx context.Context, artifacts, name string) {
	t.Helper()
	for _, width := range []int64{phoneWidth, desktopWidth} {
		opts := []chromedp.EmulateViewportOption{}
		if width == phoneWidth {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, windowHeight, opts...)); err != nil {
			t.Fatalf("%s: resize to %d px: %v", name, width, err)
		}
		// Two animation frames: the layout of the new width is done.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("%s: wait for the layout: %v", name, err)
		}
		widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
		if err != nil {
			t.Fatalf("%s: measure: %v", name, err)
		}
		// A phone's browser widens its layout viewport to the content, so
		// the window's width must also still be the width asked for.
		if widths[0] > widths[1] || int64(widths[1]) != width {
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("main *")].filter(el => el.getBoundingClientRect().right > `+strconv.FormatInt(width, 10)+` + 1).slice(0, 5).map(el => el.outerHTML.slice(0, 100))`))
			t.Errorf("%s: at %d px the page is %d px wide in a %d px window (scrolls sideways); too wide: %q", name, width, widths[0], widths[1], wide)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artifacts, fmt.Sprintf("%s-%dpx.png", name, width)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkNavigation fails the test when the page lacks the shared navigation,
// or it offers a page the administrator may not open: the operators' pages
// to a tenant administrator, or another tenant's.
func checkNavigation(t *testing.T, ctx context.Context, page string, asOperator bool) {
	t.Helper()
	hrefs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("header nav.admin-nav a")].map(a => a.getAttribute("href"))`))
	if err != nil {
		t.Fatalf("%s: navigation: %v", page, err)
	}
	want := []string{"/admin/", "/admin/tokens", "/admin/audit"}
	if asOperator {
		want = append(want, "/admin/routes")
	} else {
		want = append(want, "/admin/tenants/acme/users")
	}
	for _, w := range want {
		if !slices.Contains(hrefs, w) {
			t.Errorf("%s: the navigation %q lacks %s", page, hrefs, w)
		}
	}
	for _, h := range hrefs {
		if !asOperator && (h == "/admin/routes" || strings.HasPrefix(h, "/admin/tenants/") && !strings.HasPrefix(h, "/admin/tenants/acme")) {
			t.Errorf("%s: the tenant administrator's navigation offers %s", page, h)
		}
	}
}

// checkLabels fails the test for every visible form control without an
// accessible name (a <label>, aria-label or aria-labelledby), and every
// button without text.
func checkLabels(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	missing, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		for (const el of document.querySelectorAll("input, select, textarea, button")) {
			if (el.type === "hidden" || el.hidden) continue;
			const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
			const text = el.tagName === "BUTTON" && el.textContent.trim() !== "";
			if (!named && !text) out.push(el.outerHTML.slice(0, 120));
		}
		return out;
	})()`))
	if err != nil {
		t.Fatalf("%s: label check: %v", page, err)
	}
	for _, m := range missing {
		t.Errorf("%s: control without a label: %s", page, m)
	}
}

// checkKeyboard presses Tab through the page and fails the test for every
// visible control (link, button, field, summary) the focus never reached.
func checkKeyboard(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	total, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		window.__reached = new Set();
		window.__controls = [...document.querySelectorAll("a[href], button, input, select, textarea, summary")].filter(el =>
			el.type !== "hidden" && !el.hidden && !el.disabled && el.getClientRects().length > 0 &&
		!(el.tagName !== "SUMMARY" && el.closest("details:not([open])")));
		document.addEventListener("focusin", ev => window.__reached.add(ev.target));
		document.activeElement && document.activeElement.blur();
		return window.__controls.length;
	})()`))
	if err != nil {
		t.Fatalf("%s: keyboard check: %v", page, err)
	}
	// Radio groups take one Tab stop; everything else one each. Press
	// enough Tabs to go round the page once.
	for i := 0; i < total+3; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatalf("%s: Tab: %v", page, err)
		}
	}
	unreached, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__controls.filter(el => !window.__reached.has(el)).map(el => el.outerHTML.slice(0, 120))`))
	if err != nil {
		t.Fatalf("%s: keyboard check: %v", page, err)
	}
	for _, u := range unreached {
		t.Errorf("%s: not reachable with Tab: %s", page, u)
	}
}
