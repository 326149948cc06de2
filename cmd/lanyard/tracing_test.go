package main

import (
	"compress/gzip"
	"encoding/hex"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/devidp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receivedSpan is a span as an OTLP receiver got it.
type receivedSpan struct {
	name                    string
	traceID, spanID, parent string
	attrs                   map[string]string
}

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes the protobuf
// export requests serve sends to /v1/traces.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
	srv   *httptest.Server
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	rcv := &otlpReceiver{}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver: %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, _ := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			t.Errorf("OTLP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					attrs := map[string]string{"service.name": service}
					for _, kv := range s.Attributes {
						attrs[kv.Key] = kv.GetValue().GetStringValue()
					}
					rcv.spans = append(rcv.spans, receivedSpan{name: s.Name, traceID: hex.EncodeToString(s.TraceId),
						spanID: hex.EncodeToString(s.SpanId), parent: hex.EncodeToString(s.ParentSpanId), attrs: attrs})
				}
			}
		}
		rcv.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

// find returns the spans named name.
func (rcv *otlpReceiver) find(name string) []receivedSpan {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []receivedSpan
	for _, s := range rcv.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// waitSpan waits for a span named name for which ok holds.
func (rcv *otlpReceiver) waitSpan(t *testing.T, name string, ok func(receivedSpan) bool) receivedSpan {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, s := range rcv.find(name) {
			if ok == nil || ok(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			rcv.mu.Lock()
			var names []string
			for _, s := range rcv.spans {
				names = append(names, s.name)
			}
			rcv.mu.Unlock()
			t.Fatalf("no span %q received; got %q", name, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTracesOfLoginAndProxy runs serve with otlp_endpoint pointing at a
// receiver started here, signs in through the development IdP, refreshes
// the IdP's metadata through the API and requests a proxied application:
// the receiver gets the ACS span with its validation and store children,
// the metadata fetch, and the proxied request's span, whose trace the
// application continues from the traceparent it received.
func TestTracesOfLoginAndProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and devidp")
	}
	rcv := startOTLPReceiver(t)
	var upstreamTraceparent sync.Map
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamTraceparent.Store(r.URL.Path, r.Header.Get("Traceparent"))
		io.WriteString(w, "application")
	}))
	defer upstream.Close()

	data := t.TempDir()
	env := map[string]string{"LANYARD_DATA": data, "LANYARD_METADATA_ALLOW_PRIVATE": "true"}
	mustCLI(t, env, "", "tenant", "create", "demo")
	token := strings.TrimSpace(mustCLI(t, env, "", "token", "create", "tracing", "--scopes", "read,write").stdout)
	routes := `[{"name": "app", "path_prefix": "/app/", "upstream": "` + upstream.URL + `", "tenant": "demo"}]`
	s := startServe(t, []string{"--data", data, "--metadata-allow-private", "true", "--otlp-endpoint", rcv.srv.URL,
		"--admin-base-url", "http://admin.localhost", "--routes", routes}, nil)
	s.waitReady()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.url, "http://"))
	lanyardURL := "http://localhost:" + port

	idpURL, _, stopIdP := startDevIdP(t, "--sp-metadata", lanyardURL+"/t/demo/saml/metadata")
	defer stopIdP()
	mustCLI(t, env, "", "idp", "import", "--tenant", "demo", "--metadata", idpURL+"/metadata")
	mustCLI(t, env, "", "tenant", "set", "demo", "enabled=true", "jit=true")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	get := func(u string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		return fetch(req)
	}
	post := func(u string, form url.Values) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return fetch(req)
	}
	field := func(body, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no field %s in:\n%s", name, body)
		}
		return html.UnescapeString(m[1])
	}

	// The login, through the development IdP.
	var resp *http.Response
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, _ = get(lanyardURL + "/t/demo/saml/login?return_to=/app/hello")
		if resp.StatusCode == http.StatusFound || time.Now().After(deadline) {
			break
		}
	}
	_, body = get(resp.Header.Get("Location"))
	_, body = post(idpURL+"/login", url.Values{"login": {field(body, "login")}, "username": {"alice"}, "password": {devidp.DemoPassword}})
	form := url.Values{"SAMLResponse": {field(body, "SAMLResponse")}}
	if strings.Contains(body, `name="RelayState"`) {
		form.Set("RelayState", field(body, "RelayState"))
	}
	if resp, body = post(lanyardURL+"/t/demo/saml/acs", form); resp.StatusCode/100 != 3 {
		t.Fatalf("ACS: %d\n%s\n%s", resp.StatusCode, body, s.stderr)
	}

	// A proxied request, with a traceparent of the client's own trace.
	const clientTrace = "0af7651916cd43dd8448eb211c80319c"
	req, _ := http.NewRequest(http.MethodGet, lanyardURL+"/app/hello", nil)
	req.Header.Set("Traceparent", "00-"+clientTrace+"-b7ad6b7169203331-01")
	if resp, body = fetch(req); resp.StatusCode != http.StatusOK || body != "application" {
		t.Fatalf("proxied request: %d %s", resp.StatusCode, body)
	}

	// The IdP's metadata fetched again by serve (the API, on the admin host).
	entityID := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(func() string { _, b := get(idpURL + "/metadata"); return b }())
	req, _ = http.NewRequest(http.MethodPost, s.url+"/api/v1/tenants/demo/idps/refresh?entity_id="+url.QueryEscape(html.UnescapeString(entityID[1])), nil)
	req.Host = "admin.localhost"
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, body = fetch(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh through the API: %d %s", resp.StatusCode, body)
	}

	// The login: the ACS request's server span, saml.acs under it, and
	// validation and the store's transaction under that.
	acsRequest := rcv.waitSpan(t, "POST /t/{tenant}/saml/acs", nil)
	acs := rcv.waitSpan(t, "saml.acs", func(s receivedSpan) bool { return s.parent == acsRequest.spanID })
	validate := rcv.waitSpan(t, "saml.validate", func(s receivedSpan) bool { return s.parent == acs.spanID })
	rcv.waitSpan(t, "store.login", func(s receivedSpan) bool { return s.parent == acs.spanID && s.traceID == acs.traceID })
	if acs.attrs["lanyard.tenant"] != "demo" || validate.attrs["lanyard.idp"] != html.UnescapeString(entityID[1]) || acsRequest.attrs["service.name"] != "lanyard" {
		t.Errorf("span attributes: acs %v, validate %v, request %v", acs.attrs, validate.attrs, acsRequest.attrs)
	}
	// The metadata fetch, inside the API request's trace.
	refresh := rcv.waitSpan(t, "POST /api/v1/tenants/{tenant}/idps/refresh", nil)
	rcv.waitSpan(t, "idp.metadata.fetch", func(s receivedSpan) bool {
		return s.traceID == refresh.traceID && strings.HasPrefix(s.attrs["url.full"], idpURL)
	})
	// The proxied request continues the client's trace, and the
	// application received the proxy span as its parent.
	proxy := rcv.waitSpan(t, "proxy app", func(s receivedSpan) bool { return s.traceID == clientTrace })
	sent, _ := upstreamTraceparent.Load("/app/hello")
	if want := "00-" + clientTrace + "-" + proxy.spanID + "-01"; sent != want {
		t.Errorf("the application received traceparent %q, want %q", sent, want)
	}
}
