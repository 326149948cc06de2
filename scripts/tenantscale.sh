#!/usr/bin/env bash
# tenantscale.sh: start-up and first requests with many tenants. For each
# engine and each tenant count it seeds a store with lanyard-seed (the
# tenants, one user and one session each), then, in each round, starts
# "lanyard serve" on it and measures, in seconds: the time until /readyz
# answers 200 and the server's CPU time by then, then the first and second
# request of three tenants (the last, the middle and the first): the SP
# metadata, which builds the tenant's configuration snapshot, and
# /auth/verify with the tenant's session; the table keeps the slowest. Rounds alternate over the tenant
# counts, so that each count sees the same load; the table gives the median
# of the rounds and their range. A first row measures a fresh install: the
# first start on an empty store (schema creation, the first keys).
# Target: under a second each with 10,000 tenants.
#
#   scripts/tenantscale.sh [-tenants "1 100 10000"] [-rounds 3] [sqlite] [postgres]
#
# Builds lanyard and lanyard-seed into a temporary directory; starts a
# throwaway PostgreSQL with scripts/pg.sh for the postgres run. Everything
# listens on 127.0.0.1 and is stopped at the end. Progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
counts=(1 100 10000)
rounds=3
engines=()
usage="usage: scripts/tenantscale.sh [-tenants \"1 100 10000\"] [-rounds 3] [sqlite] [postgres]"
while (($#)); do
	case $1 in
	-tenants) read -r -a counts <<<"$2"; shift 2 ;;
	-rounds) rounds=$2; shift 2 ;;
	sqlite | postgres) engines+=("$1"); shift ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
((${#engines[@]})) || engines=(sqlite)
for c in "${counts[@]}"; do [[ $c =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }; done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }

work=$(mktemp -d)
server=""
pgdir=""
stop_server() {
	if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	server=""
}
cleanup() {
	stop_server
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
log() { echo "tenantscale.sh: $*" >&2; }

go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/lanyard-seed" ./cmd/lanyard-seed
ticks=$(getconf CLK_TCK)

# cpu_seconds PID: user + system CPU time of a process so far.
cpu_seconds() {
	awk -v t="$ticks" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"
}
session_id() { # the ID of seeded session i (see lanyard-seed SessionID)
	printf 'lanyard-seed session %d' "$1" | sha256sum | cut -d' ' -f1 | xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '='
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# measure LABEL TENANTS STORE-ARGS...: one start-up and its first requests;
# appends "LABEL|what|seconds" lines to $work/results.
measure() {
	local label=$1 tenants=$2
	shift 2
	local port start ready
	port=$(free_port)
	start=$(date +%s.%N)
	"$work/lanyard" serve --addr "127.0.0.1:$port" --base-url "http://127.0.0.1:$port" --log-level warn "$@" >>"$work/lanyard.log" 2>&1 &
	server=$!
	for _ in $(seq 1 3000); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
		sleep 0.01
	done
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] || { log "$label: /readyz never answered 200"; tail -20 "$work/lanyard.log" >&2; exit 1; }
	ready=$(echo "$(date +%s.%N) - $start" | bc)
	echo "$label|serve until /readyz answers 200|$ready" >>"$work/results"
	echo "$label|server CPU time until then|$(cpu_seconds "$server")" >>"$work/results"
	if ((tenants > 0)); then
		# The first and the second request of each of three tenants; the
		# table keeps the slowest of each kind (every one must be fast).
		local i slug t attempt first=0 second=0 slowest_first="" slowest_second=""
		for i in $((tenants - 1)) $((tenants / 2)) 0; do
			slug=$(printf 't%05d' "$i")
			for path in "/t/$slug/saml/metadata" /auth/verify; do
				for attempt in first second; do
					t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Cookie: lanyard_session=$(session_id "$i")" "http://127.0.0.1:$port$path")
					[[ ${t% *} == 200 ]] || { log "$label: GET $path (tenant $slug) answered ${t% *}"; exit 1; }
					if [[ $attempt == first ]] && (($(echo "${t#* } > $first" | bc))); then first=${t#* } slowest_first="GET $path"; fi
					if [[ $attempt == second ]] && (($(echo "${t#* } > $second" | bc))); then second=${t#* } slowest_second="GET $path"; fi
				done
			done
		done
		log "$label: slowest first request $slowest_first ($first s), slowest second $slowest_second ($second s)"
		echo "$label|slowest first request of a tenant (metadata or /auth/verify, 3 tenants)|$first" >>"$work/results"
		echo "$label|slowest second request|$second" >>"$work/results"
	fi
	stop_server
}

# store_args ENGINE NAME: the serve flags of a store called NAME.
store_args() {
	case $1 in
	sqlite) echo "--data $work/$2" ;;
	postgres) echo "--database ${LANYARD_TEST_POSTGRES_URL%/*}/$2?sslmode=disable" ;;
	esac
}
seed_args() {
	case $1 in
	sqlite) mkdir -p "$work/$2"; echo "-sqlite $work/$2/lanyard.db" ;;
	postgres)
		psql -q "$LANYARD_TEST_POSTGRES_URL" -c "CREATE DATABASE $2" >/dev/null
		echo "-postgres ${LANYARD_TEST_POSTGRES_URL%/*}/$2?sslmode=disable"
		;;
	esac
}

for engine in "${engines[@]}"; do
	: >"$work/results"
	if [[ $engine == postgres ]]; then
		eval "$(scripts/pg.sh start)"
		pgdir=$LANYARD_TEST_PG_DIR
		LANYARD_TEST_POSTGRES_URL=${LANYARD_TEST_POSTGRES_URL%%\?*}
	fi
	for c in "${counts[@]}"; do
		log "$engine: seeding $c tenants"
		# shellcheck disable=SC2046
		"$work/lanyard-seed" fill $(seed_args "$engine" "t$c") -tenants "$c" -users "$c" -sessions "$c" >&2
	done
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	for r in $(seq 1 "$rounds"); do
		log "$engine: round $r of $rounds"
		case $engine in
		sqlite) rm -rf "$work/fresh$r" && mkdir -p "$work/fresh$r" ;;
		postgres) psql -q "$LANYARD_TEST_POSTGRES_URL" -c "CREATE DATABASE fresh$r" >/dev/null ;;
		esac
		# shellcheck disable=SC2046
		measure "fresh install" 0 $(store_args "$engine" "fresh$r")
		for c in "${counts[@]}"; do
			# shellcheck disable=SC2046
			measure "tenants: $c" "$c" $(store_args "$engine" "t$c")
		done
	done
	load_after=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "## $engine: start-up and first requests, median of $rounds rounds (min-max), seconds"
	echo
	echo "Load average $load_before at the start, $load_after at the end."
	echo
	echo "| store | what | median | min-max |"
	echo "|---|---|---:|---:|"
	awk -F'|' '
		{ key = $1 "|" $2; if (!(key in n)) order[++k] = key; v[key, ++n[key]] = $3 }
		END {
			for (i = 1; i <= k; i++) {
				key = order[i]; m = n[key]
				for (a = 1; a <= m; a++) s[a] = v[key, a] + 0
				for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (s[b] < s[a]) { t = s[a]; s[a] = s[b]; s[b] = t }
				med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
				split(key, p, "|")
				printf "| %s | %s | %.3f | %.3f-%.3f |\n", p[1], p[2], med, s[1], s[m]
			}
		}' "$work/results"
	echo
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; pgdir=""; fi
done
