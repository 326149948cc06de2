#!/usr/bin/env bash
# tenantscale.sh: start-up and first requests with many tenants. Seeds a
# SQLite store with lanyard-seed (-tenants tenants, one user and session
# each), starts "lanyard serve" on it and reports, in seconds: the time to
# /readyz answering 200, then the time of the first request of each of a
# few tenants (SP metadata, which builds the tenant's configuration
# snapshot, and /auth/verify with the tenant's session), and of a second.
# Target: under a second each with 10,000 tenants.
#
#   scripts/tenantscale.sh [-tenants 10000]
set -euo pipefail

cd "$(dirname "$0")/.."
tenants=10000
while (($#)); do
	case $1 in
	-tenants) tenants=$2; shift 2 ;;
	*) echo "usage: scripts/tenantscale.sh [-tenants 10000]" >&2; exit 2 ;;
	esac
done

work=$(mktemp -d)
server=""
cleanup() {
	if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "tenantscale.sh: $*" >&2; }

go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/lanyard-seed" ./cmd/lanyard-seed
mkdir -p "$work/data"
"$work/lanyard-seed" fill -sqlite "$work/data/lanyard.db" -tenants "$tenants" -users "$tenants" -sessions "$tenants"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start=$(date +%s.%N)
"$work/lanyard" serve --addr "127.0.0.1:$port" --base-url "http://127.0.0.1:$port" --log-level warn --data "$work/data" >"$work/lanyard.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
	sleep 0.05
done
ready=$(echo "$(date +%s.%N) - $start" | bc)
echo "## $tenants tenants, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| what | seconds |"
echo "|---|---:|"
echo "| serve until /readyz answers 200 | $ready |"
id() { # the ID of seeded session i (see lanyard-seed SessionID)
	printf 'lanyard-seed session %d' "$1" | sha256sum | cut -d' ' -f1 | xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '='
}
for i in $((tenants - 1)) $((tenants / 2)) 0; do
	slug=$(printf 't%05d' "$i")
	for attempt in first second; do
		t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$port/t/$slug/saml/metadata")
		echo "| $attempt GET /t/$slug/saml/metadata (status ${t% *}) | ${t#* } |"
	done
	for attempt in first second; do
		t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Cookie: lanyard_session=$(id "$i")" "http://127.0.0.1:$port/auth/verify")
		echo "| $attempt GET /auth/verify, a session of $slug (status ${t% *}) | ${t#* } |"
	done
done
