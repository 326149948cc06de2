package lanyard_test

import (
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestCanonicalOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com":         "https://app.example.com",
		"https://app.example.com:443":     "https://app.example.com", // default port, explicit
		"http://app.example.com:80":       "http://app.example.com",
		"http://app.example.com:443":      "http://app.example.com:443",
		"https://app.example.com:80":      "https://app.example.com:80",
		"https://app.example.com:8443":    "https://app.example.com:8443",
		"HTTPS://APP.Example.COM":         "https://app.example.com", // case
		"https://xn--pp-qla.example.com":  "https://xn--pp-qla.example.com",
		"http://127.0.0.1:8080":           "http://127.0.0.1:8080",
		"http://[::1]:8080":               "http://[::1]:8080",
		"http://[0:0:0:0:0:0:0:1]":        "http://[::1]",
		"https://app.example.com.":        "", // trailing dot: another origin
		"https://app..example.com":        "",
		"https://.app.example.com":        "",
		"https://app.example.com/":        "", // a path, even /
		"https://app.example.com/x":       "",
		"https://app.example.com?x":       "",
		"https://app.example.com#x":       "",
		"https://user@app.example.com":    "",
		"https://user:pw@app.example.com": "",
		"https://app.example.com:":        "",
		"https://app.example.com:0":       "",
		"https://app.example.com:0443":    "",
		"https://app.example.com:+443":    "",
		"https://app.example.com:65536":   "",
		"https://app.example.com:1:2":     "",
		"https://äpp.example.com":         "", // IDN: browsers send punycode
		"https://app.exa%6dple.com":       "",
		"https://app.example.com\\":       "",
		"https://app example.com":         "",
		" https://app.example.com":        "",
		"https://app.example.com ":        "",
		"https://app_x.example.com":       "",
		"http://[::1%25eth0]":             "",
		"http://[::1":                     "",
		"http://[127.0.0.1]":              "",
		"null":                            "",
		"":                                "",
		"app.example.com":                 "",
		"//app.example.com":               "",
		"ftp://app.example.com":           "",
		"javascript://app.example.com":    "",
		"file://":                         "",
		"https://":                        "",
	} {
		got, ok := lanyard.CanonicalOrigin(in)
		if got != want || ok != (want != "") {
			t.Errorf("CanonicalOrigin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
