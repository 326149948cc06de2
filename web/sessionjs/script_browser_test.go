package sessionjs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard/internal/browsertest"
)

// stateAnswer is one way GET /lanyard/session can answer.
type stateAnswer struct {
	name string
	// answer writes the answer; nil drops the connection (network gone).
	answer func(w http.ResponseWriter)
	// minStateRequests the page must still make in the window (it keeps
	// trying, backing off), maxStateRequests and maxOther (checks) the
	// most it may make.
	minStateRequests, maxStateRequests, maxOther int64
	// wantCheck: the answer says a check is due, so one must start.
	wantCheck bool
}

func jsonAnswer(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// scriptWindow is how long each page is left alone.
const scriptWindow = 8 * time.Second

// TestSessionScriptPacingInChromium leaves a page with session.js alone in
// headless Chromium for a fixed time against a server that answers the
// state endpoint in every way it could (errors, nonsense, fields missing,
// zero or negative numbers, the network gone) and counts every request the
// page makes: the script keeps trying, backing off, and never makes more
// than a handful. Nothing calls into the script. The answers run side by
// side, each in its own tab and origin.
func TestSessionScriptPacingInChromium(t *testing.T) {
	browser := browsertest.Start(t)
	const due = `{"signed_in":true,"tenant":"acme","login":"alice","kind":"sso","roles":[],"expires_in":28000,"refresh_interval":270,"refresh_in":0,"check_url":"/check","login_url":"/login"}`
	// Failures: a request at once, another after RETRY_FIRST_S (5 s), the
	// next 10 s later, outside the window.
	const failMin, failMax = 2, 2
	answers := []stateAnswer{
		{name: "500", answer: jsonAnswer(500, `{"error":"internal"}`), minStateRequests: failMin, maxStateRequests: failMax},
		{name: "503 with Retry-After 0", answer: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			jsonAnswer(503, `{"error":"not_ready"}`)(w)
		}, minStateRequests: failMin, maxStateRequests: failMax},
		{name: "404 page", answer: func(w http.ResponseWriter) { http.NotFound(w, nil) }, minStateRequests: failMin, maxStateRequests: failMax},
		{name: "HTML login page", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<!doctype html><title>Sign in</title><form></form>"))
		}, minStateRequests: failMin, maxStateRequests: failMax},
		{name: "truncated JSON", answer: jsonAnswer(200, `{"signed_in":tr`), minStateRequests: failMin, maxStateRequests: failMax},
		{name: "null", answer: jsonAnswer(200, `null`), minStateRequests: failMin, maxStateRequests: failMax},
		{name: "array", answer: jsonAnswer(200, `[]`), minStateRequests: failMin, maxStateRequests: failMax},
		{name: "string", answer: jsonAnswer(200, `"signed_in"`), minStateRequests: failMin, maxStateRequests: failMax},
		{name: "empty object", answer: jsonAnswer(200, `{}`), minStateRequests: failMin, maxStateRequests: failMax},
		{name: "signed_in as a string", answer: jsonAnswer(200, `{"signed_in":"true","kind":"sso","refresh_in":0,"check_url":"/check"}`), minStateRequests: failMin, maxStateRequests: failMax},
		// Chromium may retry a GET once by itself when the connection
		// drops before an answer: each attempt of the script arrives once
		// or twice, and on a loaded machine one more may land inside the
		// window. A loop without a floor makes hundreds.
		{name: "network gone", answer: nil, minStateRequests: failMin, maxStateRequests: 3 * failMax},
		// Not signed in: one request, then nothing (nothing to keep).
		{name: "signed out", answer: jsonAnswer(200, `{"signed_in":false}`), minStateRequests: 1, maxStateRequests: 1},
		// Signed in, every other field missing: nothing says when to come
		// back, so the script waits its default (60 s).
		{name: "sso, fields missing", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso"}`), minStateRequests: 1, maxStateRequests: 1},
		// The answer of the Lanyard that left out refresh_in when it was 0.
		{name: "sso, refresh_in left out", answer: jsonAnswer(200, `{"signed_in":true,"tenant":"acme","login":"alice","kind":"sso","expires_in":28000,"refresh_interval":270,"check_url":"/check"}`), minStateRequests: 1, maxStateRequests: 1},
		{name: "sso, numbers as strings", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso","expires_in":"100","refresh_interval":"x","refresh_in":"0","check_url":"/check"}`), minStateRequests: 1, maxStateRequests: 1},
		{name: "sso, numbers null", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso","expires_in":null,"refresh_interval":null,"refresh_in":null,"check_url":"/check"}`), minStateRequests: 1, maxStateRequests: 1},
		// A check due at every answer, the check never reporting back: one
		// check (a hidden frame), the state asked again a few times.
		{name: "sso, check always due", answer: jsonAnswer(200, due), minStateRequests: 1, maxStateRequests: 2, maxOther: 2, wantCheck: true},
		{name: "sso, all zero", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso","expires_in":0,"refresh_interval":0,"refresh_in":0,"check_url":"/check"}`), minStateRequests: 2, maxStateRequests: 3, maxOther: 2, wantCheck: true},
		{name: "sso, negative", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso","expires_in":-5,"refresh_interval":-1,"refresh_in":-100,"check_url":"/check"}`), minStateRequests: 2, maxStateRequests: 3, maxOther: 2, wantCheck: true},
		{name: "sso, huge", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso","expires_in":1e308,"refresh_interval":1e308,"refresh_in":1e308,"check_url":"/check"}`), minStateRequests: 1, maxStateRequests: 1},
		// A check URL on another site is not followed.
		{name: "sso, check URL elsewhere", answer: jsonAnswer(200, `{"signed_in":true,"kind":"sso","expires_in":100,"refresh_interval":270,"refresh_in":0,"check_url":"//evil.example/check"}`), minStateRequests: 1, maxStateRequests: 1},
		{name: "password, expiring now", answer: jsonAnswer(200, `{"signed_in":true,"kind":"password","expires_in":0,"refresh_interval":0,"refresh_in":0,"check_url":""}`), minStateRequests: 2, maxStateRequests: 3},
	}
	var wg sync.WaitGroup
	for _, a := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state, other, checks, err := leavePageAlone(browser, a, scriptWindow)
			if err != nil {
				t.Errorf("%s: %v", a.name, err)
				return
			}
			t.Logf("%s: %d state requests, %d other requests in %s", a.name, state, other, scriptWindow)
			if state < a.minStateRequests || state > a.maxStateRequests {
				t.Errorf("%s: %d requests for the state in %s; want %d to %d", a.name, state, scriptWindow, a.minStateRequests, a.maxStateRequests)
			}
			if other > a.maxOther {
				t.Errorf("%s: %d other requests in %s; want at most %d", a.name, other, scriptWindow, a.maxOther)
			}
			if a.wantCheck && checks == 0 {
				t.Errorf("%s: a check is due and none started", a.name)
			}
		}()
	}
	wg.Wait()
}

// leavePageAlone serves a page including session.js, the state answer and
// a check page that never reports back, loads the page in a new tab, and
// counts the requests the page makes in the window, which starts at its
// first request for the state (not when the page has loaded, which a busy
// machine delays).
func leavePageAlone(browser context.Context, a stateAnswer, window time.Duration) (state, other, checks int64, err error) {
	var (
		mu            sync.Mutex
		start         time.Time
		nState        int64
		nOther, nChks int64
	)
	// count counts a request if it falls in the window, which the first
	// request for the state opens.
	count := func(isState, isCheck bool) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if start.IsZero() {
			if !isState {
				return
			}
			start = now
		}
		if now.Sub(start) >= window {
			return
		}
		switch {
		case isState:
			nState++
		default:
			nOther++
			if isCheck {
				nChks++
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html><head><title>App</title></head><body><p>An application page.</p><script src="/lanyard/session.js" defer></script></body></html>`)
		case "/lanyard/session.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(sessionScript)
		case "/favicon.ico":
			http.NotFound(w, r)
		case "/lanyard/session":
			count(true, false)
			if a.answer == nil {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			a.answer(w)
		default:
			count(false, strings.HasPrefix(r.URL.Path, "/check"))
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!doctype html><title>Check</title><p>No answer.</p>")
		}
	}))
	defer srv.Close()
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	loadCtx, cancelLoad := context.WithTimeout(ctx, 30*time.Second)
	defer cancelLoad()
	if err := chromedp.Do(loadCtx, chromedp.Navigate(srv.URL+"/")); err != nil {
		return 0, 0, 0, fmt.Errorf("load the page: %w", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		started := start
		mu.Unlock()
		if !started.IsZero() {
			time.Sleep(time.Until(started.Add(window)))
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("the page asked nothing within 10 s of loading")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return nState, nOther, nChks, nil
}
