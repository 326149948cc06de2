package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// maxUploadBytes bounds the uploads of the admin UI (CSV files, metadata).
const maxUploadBytes = 64 << 20

// adminPage is what every admin page shows: the navigation, a notice after
// a change, the problems of a refused form.
type adminPage struct {
	Title    string
	User     lanyard.User
	Tenant   lanyard.Tenant
	Operator bool // shows the operators' pages in the navigation
	CSRF     string
	Notice   string
	Problems []string

	principal lanyard.Principal // what the navigation may offer
	path      string            // the page shown, marked in the navigation
}

// newAdminPage starts the data of a page; the notice comes from the
// redirect after a change (post/redirect/get), and is shown only when its
// MAC matches the administrator's session: a link from elsewhere cannot
// make an admin page show a text of someone else's choosing.
func newAdminPage(r *http.Request, title string) adminPage {
	auth := ui.AdminFrom(r.Context())
	page := adminPage{Title: title, User: auth.User, CSRF: session.CSRFToken(auth.Session), Operator: auth.Principal.Operator,
		principal: auth.Principal, path: r.URL.Path}
	if !auth.Principal.Operator {
		// A tenant administrator's navigation always leads to their tenant.
		page.Tenant = auth.Tenant
	}
	q := r.URL.Query()
	if notice := q.Get("notice"); notice != "" && hmac.Equal([]byte(q.Get("mac")), []byte(noticeMAC(auth.Session, notice))) {
		page.Notice = notice
	}
	return page
}

// newTenantPage is newAdminPage for a page of the tenant the path names
// ({tenant}), with page.Tenant set; an error when there is no such tenant.
func (d *Deps) newTenantPage(r *http.Request, title string) (adminPage, error) {
	page := newAdminPage(r, title)
	t, err := d.Admin.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return page, err
	}
	page.Tenant = t
	return page, nil
}

// noticeMAC authenticates a notice for the session.
func noticeMAC(sess lanyard.Session, notice string) string {
	m := hmac.New(sha256.New, []byte("lanyard admin notice\x00"+session.CSRFToken(sess)))
	m.Write([]byte(notice))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// actor is the audit actor of the administrator of r.
func actor(r *http.Request) string {
	return ui.AdminFrom(r.Context()).User.Login
}

// adminForm checks a posted admin form: its size, origin and CSRF token.
// Multipart forms (uploads) may be up to maxUploadBytes.
func (d *Deps) adminForm(w http.ResponseWriter, r *http.Request) error {
	limit := int64(ui.MaxFormBytes)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		limit = maxUploadBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The upload could not be read (at most 64 MiB). Choose the file again and send the form.", Err: err}
		}
	} else if err := ui.ParseForm(r); err != nil {
		return err
	}
	return d.Kit.VerifySessionToken(r, ui.AdminFrom(r.Context()).Session)
}

// problems returns the problems of a refused change, one per line, or nil
// when err is not a refusal the administrator can fix (then it is rendered
// as an error page).
func problems(err error) []string {
	switch lanyard.ErrorKind(err) {
	case lanyard.KindInvalid, lanyard.KindConflict, lanyard.KindNotFound:
	default:
		return nil
	}
	var v *lanyard.ValidationError
	if errors.As(err, &v) && len(v.Problems) > 0 {
		return slices.Clone(v.Problems)
	}
	return []string{lanyard.ErrorMessage(err)}
}

// done redirects after a change, with a notice for the next page.
func done(w http.ResponseWriter, r *http.Request, to, notice string) {
	u, _ := url.Parse(to)
	if len(notice) > 1500 {
		notice = notice[:1500] + "…"
	}
	q := u.Query()
	q.Set("notice", notice)
	q.Set("mac", noticeMAC(ui.AdminFrom(r.Context()).Session, notice))
	u.RawQuery = q.Encode()
	ui.Redirect(w, r, u.String())
}

// tenantURL is the admin page of a tenant, plus a sub-path.
func tenantURL(slug, sub string) string {
	return "/admin/tenants/" + url.PathEscape(slug) + sub
}

// queryIntValue reads a non-negative integer, 0 when empty.
func queryIntValue(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var n int
	_, err := fmt.Sscan(s, &n)
	if n < 0 {
		n = 0
	}
	return n, err
}
