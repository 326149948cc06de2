#!/usr/bin/env bash
# faults.sh: the fault suite (internal/faults).
#
# Builds lanyard once, starts its own durable PostgreSQL (scripts/pg.sh
# start --durable: fsync, synchronous_commit and full_page_writes on) with 3
# "lanyard serve" nodes, and one node on SQLite, then drives SAML logins
# while it kills a node (SIGKILL), stops and kills PostgreSQL, replays
# responses across nodes, races first logins, drains a node with SIGTERM,
# fills the SQLite volume and soaks a node. Each scenario prints a line
# "FAULTS <scenario> <figures>"; they are repeated at the end.
#
# Usage: scripts/faults.sh                 the whole suite (about 3 minutes)
#        LANYARD_FAULTS_SOAK=5m scripts/faults.sh   a longer soak (default 60s)
#        scripts/faults.sh -run 'TestFaults/postgres/replay'   one scenario
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
run=(-run '^TestFaults$')
if [ "${1:-}" = "-run" ] && [ -n "${2:-}" ]; then
  run=(-run "$2")
fi
status=0
LANYARD_FAULTS=1 LANYARD_FAULTS_SUMMARY="$summary" \
  go test -count=1 -timeout 15m -v "${run[@]}" ./internal/faults/ || status=$?
printf '\n== fault suite summary (load average: %s)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
cat "$summary"
exit $status
