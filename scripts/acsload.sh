#!/usr/bin/env bash
# acsload.sh: measure SAML logins per second at the ACS, on SQLite and on
# PostgreSQL, and print a markdown table for BENCHMARKS.md.
#
#   scripts/acsload.sh [-n 20000] [-c 4,8] [-mode idp|sp] [-cpuprofile-dir DIR] [engines...]
#
# engines: sqlite, postgres (default both). It builds lanyard and
# lanyard-acsload into a temporary directory, starts a throwaway PostgreSQL
# with scripts/pg.sh for the postgres run (stopped at the end), and runs
# the load tool, which starts `lanyard serve` on 127.0.0.1 and posts
# pre-signed responses to it. Progress goes to stderr, the table to stdout.
set -euo pipefail

cd "$(dirname "$0")/.."

n=20000
conc=4,8
mode=idp
profdir=""
engines=()
while (($#)); do
	case $1 in
	-n) n=$2; shift 2 ;;
	-c) conc=$2; shift 2 ;;
	-mode) mode=$2; shift 2 ;;
	-cpuprofile-dir) profdir=$2; shift 2 ;;
	sqlite | postgres) engines+=("$1"); shift ;;
	*) echo "usage: scripts/acsload.sh [-n N] [-c 4,8] [-mode idp|sp] [-cpuprofile-dir DIR] [sqlite] [postgres]" >&2; exit 2 ;;
	esac
done
((${#engines[@]})) || engines=(sqlite postgres)

work=$(mktemp -d)
pgdir=""
cleanup() {
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >&2 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "acsload.sh: building" >&2
go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/lanyard-acsload" ./cmd/lanyard-acsload

echo "acsload.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs" >&2
header=1
for engine in "${engines[@]}"; do
	args=(-lanyard "$work/lanyard" -n "$n" -c "$conc" -mode "$mode" -format markdown)
	if [[ -n "$profdir" ]]; then
		mkdir -p "$profdir"
		args+=(-cpuprofile "$profdir/server-$engine-$mode.pprof")
	fi
	if [[ $engine == postgres ]]; then
		eval "$(scripts/pg.sh start)"
		pgdir=$LANYARD_TEST_PG_DIR
		args+=(-database "$LANYARD_TEST_POSTGRES_URL" -postgres-pid-file "$pgdir/data/postmaster.pid")
	fi
	"$work/lanyard-acsload" "${args[@]}" >"$work/out.md"
	if ((header)); then
		cat "$work/out.md"
		header=0
	else
		tail -n +3 "$work/out.md"
	fi
	if [[ $engine == postgres ]]; then
		scripts/pg.sh stop "$pgdir" >&2
		pgdir=""
	fi
done
echo "acsload.sh: load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs" >&2
