package gateway_test

import (
	"fmt"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// nginxAppHost is nginx in front of an application on a host of its own:
// auth_request as in nginxServer, and /auth/ (the start of the hand-off,
// its end, the sign-out) passed to Lanyard with the host and scheme the
// browser used.
func nginxAppHost(lanyardAddr, appAddr string) string {
	return fmt.Sprintf(`
		location = /_lanyard_verify {
			internal;
			proxy_pass http://%[1]s/auth/verify?tenant=acme;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Original-URI $request_uri;
		}
		location @lanyard_login {
			return 302 $lanyard_login;
		}
		location /auth/ {
			proxy_pass http://%[1]s;
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-Proto $scheme;
		}
		location / {
			auth_request /_lanyard_verify;
			auth_request_set $lanyard_login $upstream_http_x_lanyard_login;
			auth_request_set $lanyard_user $upstream_http_x_lanyard_user;
			auth_request_set $lanyard_user_id $upstream_http_x_lanyard_user_id;
			auth_request_set $lanyard_email $upstream_http_x_lanyard_email;
			auth_request_set $lanyard_name $upstream_http_x_lanyard_name;
			auth_request_set $lanyard_roles $upstream_http_x_lanyard_roles;
			auth_request_set $lanyard_groups $upstream_http_x_lanyard_groups;
			auth_request_set $lanyard_tenant $upstream_http_x_lanyard_tenant;
			auth_request_set $lanyard_jwt $upstream_http_x_lanyard_jwt;
			error_page 401 = @lanyard_login;
			proxy_set_header X-Lanyard-User $lanyard_user;
			proxy_set_header X-Lanyard-User-Id $lanyard_user_id;
			proxy_set_header X-Lanyard-Email $lanyard_email;
			proxy_set_header X-Lanyard-Name $lanyard_name;
			proxy_set_header X-Lanyard-Roles $lanyard_roles;
			proxy_set_header X-Lanyard-Groups $lanyard_groups;
			proxy_set_header X-Lanyard-Tenant $lanyard_tenant;
			proxy_set_header X-Lanyard-JWT $lanyard_jwt;
			proxy_pass http://%[2]s;
		}
`, lanyardAddr, appAddr)
}

// TestNginxHandoff: the hand-off through Debian's nginx on an application
// host of its own (see handoffThroughProxy).
func TestNginxHandoff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		port := freePort(t)
		appOrigin := fmt.Sprintf("http://%s:%d", otherHost, port)
		e := newLanyardEnvTrusting(t, store, 0, []string{appOrigin})
		e.audience = appOrigin
		startNginx(t, port, nginxAppHost(e.addr, e.app.srv.Listener.Addr().String()))
		handoffThroughProxy(t, e, appOrigin)
	})
}
