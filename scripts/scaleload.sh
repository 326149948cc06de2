#!/usr/bin/env bash
# scaleload.sh: the session check at scale. Seeds a store with lanyard-seed
# (users and sessions in bulk, over a number of tenants), serves it with
# the session check wired as in "lanyard serve", and asks GET /auth/verify
# in interleaved rounds: one hot session for every request, then a random
# one of all the seeded sessions per request (so that nearly every check
# misses the 2-second cache and reads the store). The same rounds, in turn,
# ask a second server wired as before this work ("legacy": three reads per
# miss, the tenant from the database, activity written on the request
# path), the anchor. It prints Lanyard's CPU time per request of each
# server and variant (median of the rounds), PostgreSQL's, and the ratio
# random/hot (target: at most 2).
#
#   scripts/scaleload.sh [-n 100000] [-tenants 1] [-requests 20000] [-rounds 5] [-c 4]
#       [-returning N] [-no-legacy] [-anchor BIN] [-cpuprofile DIR] [sqlite] [postgres]
#
# -returning N adds a third variant: N sessions that come back, each asked
# once per round in turn (a user whose requests are tens of seconds apart:
# each check misses the session cache, within the identity token's
# lifetime). -no-legacy leaves out the legacy server, so that rounds come
# round sooner.
#
# -anchor adds a third server, the lanyard-seed binary BIN built from
# another tree (e.g. main: git archive main | tar -x -C DIR; go build -o
# BIN ./cmd/lanyard-seed in DIR), measured in the same rounds. BIN seeds
# a store of its own (a second file, or a second database of the same
# PostgreSQL), so that each tree runs on its own schema; the seeded
# sessions are the same.
# -cpuprofile writes DIR/ENGINE.prof, the CPU profile of this tree's
# server over the whole run (hot and random rounds).
#
# -n is the number of users and of sessions. Builds lanyard-seed into a
# temporary directory; starts a throwaway PostgreSQL with scripts/pg.sh for
# the postgres run. Everything listens on 127.0.0.1 and is stopped at the
# end. Progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."

n=100000
tenants=1
requests=20000
rounds=5
clients=4
anchor=""
profiles=""
returning=0
legacy=1
engines=()
while (($#)); do
	case $1 in
	-n) n=$2; shift 2 ;;
	-tenants) tenants=$2; shift 2 ;;
	-requests) requests=$2; shift 2 ;;
	-rounds) rounds=$2; shift 2 ;;
	-c) clients=$2; shift 2 ;;
	-anchor) anchor=$(realpath "$2"); shift 2 ;;
	-cpuprofile) profiles=$(realpath "$2"); shift 2 ;;
	-returning) returning=$2; shift 2 ;;
	-no-legacy) legacy=0; shift ;;
	sqlite | postgres) engines+=("$1"); shift ;;
	*) echo "usage: scripts/scaleload.sh [-n 100000] [-tenants 1] [-requests 20000] [-rounds 5] [-c 4] [-returning N] [-no-legacy] [-anchor BIN] [-cpuprofile DIR] [sqlite] [postgres]" >&2; exit 2 ;;
	esac
done
((${#engines[@]})) || engines=(sqlite postgres)

work=$(mktemp -d)
servers=()
pgdir=""
stop_servers() {
	for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${servers[@]}"; do wait "$p" 2>/dev/null || true; done
	servers=()
}
cleanup() {
	stop_servers
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "scaleload.sh: $*" >&2; }

go build -o "$work/lanyard-seed" ./cmd/lanyard-seed

for engine in "${engines[@]}"; do
	pidfile=()
	case $engine in
	sqlite) store=(-sqlite "$work/lanyard.db") ;;
	postgres)
		eval "$(scripts/pg.sh start)"
		pgdir=$LANYARD_TEST_PG_DIR
		store=(-postgres "$LANYARD_TEST_POSTGRES_URL")
		pidfile=(-postgres-pid-file "$(find "$pgdir" -name postmaster.pid | head -1)")
		;;
	esac
	log "$engine: seeding $tenants tenants, $n users, $n sessions"
	start=$(date +%s.%N)
	"$work/lanyard-seed" fill "${store[@]}" -tenants "$tenants" -users "$n" -sessions "$n"
	log "$engine: seeded in $(echo "$(date +%s.%N) - $start" | bc) s"
	rm -f "$work"/addr.*
	profile=()
	[[ -n "$profiles" ]] && profile=(-cpuprofile "$profiles/$engine.prof")
	# On SQLite each server gets its own copy of the file: a process's WAL
	# checkpoints would otherwise copy the other servers' writes too, and
	# count their CPU time in its rounds.
	legacy_store=("${store[@]}")
	if [[ $engine == sqlite && $legacy == 1 ]]; then
		for f in "$work"/lanyard.db*; do cp "$f" "$work/legacy${f#"$work"/lanyard}"; done
		legacy_store=(-sqlite "$work/legacy.db")
	fi
	if [[ -n "$anchor" ]]; then
		if [[ $engine == sqlite ]]; then
			anchor_store=(-sqlite "$work/anchor.db")
		else
			psql -q "$LANYARD_TEST_POSTGRES_URL" -c 'CREATE DATABASE anchor'
			anchor_store=(-postgres "${LANYARD_TEST_POSTGRES_URL/\/postgres\?//anchor?}")
		fi
		log "$engine: seeding the anchor's store with $(basename "$anchor")"
		"$anchor" fill "${anchor_store[@]}" -tenants "$tenants" -users "$n" -sessions "$n"
	fi
	"$work/lanyard-seed" serve "${store[@]}" -addr-file "$work/addr.new" "${profile[@]}" &
	servers+=($!)
	names=(new)
	labels="this branch"
	if [[ $legacy == 1 ]]; then
		"$work/lanyard-seed" serve -legacy "${legacy_store[@]}" -addr-file "$work/addr.legacy" &
		servers+=($!)
		names+=(legacy)
		labels+=",legacy (anchor)"
	fi
	if [[ -n "$anchor" ]]; then
		"$anchor" serve "${anchor_store[@]}" -addr-file "$work/addr.anchor" &
		servers+=($!)
		names+=(anchor)
		labels+=",$(basename "$anchor") (anchor)"
	fi
	addrs=()
	for f in "${names[@]}"; do
		for _ in $(seq 1 300); do [[ -s "$work/addr.$f" ]] && break; sleep 0.1; done
		[[ -s "$work/addr.$f" ]] || { log "the $f server did not start"; exit 1; }
		addrs+=("$(cat "$work/addr.$f")")
	done
	echo "## $engine, $n sessions, $tenants tenants"
	"$work/lanyard-seed" verify -addr "$(IFS=,; echo "${addrs[*]}")" -pid "$(IFS=,; echo "${servers[*]}")" \
		-labels "$labels" -sessions "$n" -requests "$requests" -rounds "$rounds" -clients "$clients" -returning "$returning" "${pidfile[@]}"
	stop_servers
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; pgdir=""; fi
done
