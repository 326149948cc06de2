#!/usr/bin/env bash
# gatewayload.sh: load run of Lanyard's application gateway, on loopback,
# in one run against the same tiny upstream application:
#
#   1. the upstream alone (the ceiling);
#   2. Caddy's plain reverse_proxy to it, no authentication (Debian caddy);
#   3. Lanyard's reverse proxy to it, every request authenticated by a
#      session cookie (identity headers and X-Lanyard-JWT added);
#   4. Lanyard's forward-auth answer GET /auth/verify, signed in;
#
# with 3 and 4 on SQLite and on PostgreSQL. It prints a markdown table for
# BENCHMARKS.md: requests per second, p50 and p99 latency, and the ratio of
# Lanyard's proxy to Caddy's.
#
#   scripts/gatewayload.sh [-d 10s] [-c 64] [-t 2] [-pin] [sqlite] [postgres]
#
# -pin keeps the load generator off the servers' core: wrk runs on CPU 0,
# every server (the upstream, Caddy, Lanyard, PostgreSQL) on CPU 1, so the
# latency tail measures the servers rather than their contention with wrk.
#
# Needs wrk and caddy (Debian packages wrk, caddy); builds lanyard and
# lanyard-gwload into a temporary directory; starts a throwaway PostgreSQL
# with scripts/pg.sh for the postgres run. Everything listens on
# 127.0.0.1 and is stopped at the end. Progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."

duration=10s
conns=64
threads=2
pin=false
engines=()
while (($#)); do
	case $1 in
	-d) duration=$2; shift 2 ;;
	-c) conns=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	-pin) pin=true; shift ;;
	sqlite | postgres) engines+=("$1"); shift ;;
	*) echo "usage: scripts/gatewayload.sh [-d 10s] [-c 64] [-t 2] [-pin] [sqlite] [postgres]" >&2; exit 2 ;;
	esac
done
((${#engines[@]})) || engines=(sqlite postgres)

# With -pin, run this script (and so every server it starts) on CPU 1; wrk
# is moved to CPU 0 where it is called.
wrk_cmd=(wrk)
if $pin; then
	command -v taskset >/dev/null || { echo "gatewayload.sh: -pin needs taskset (util-linux)" >&2; exit 1; }
	if [[ "${GATEWAYLOAD_PINNED:-}" != 1 ]]; then
		GATEWAYLOAD_PINNED=1 exec taskset -c 1 "$0" "$@" -d "$duration" -c "$conns" -t "$threads" -pin "${engines[@]}"
	fi
	wrk_cmd=(taskset -c 0 wrk)
fi

for tool in wrk caddy; do
	if ! command -v "$tool" >/dev/null; then
		echo "gatewayload.sh: $tool is not installed (apt-get install $tool)" >&2
		exit 1
	fi
done

work=$(mktemp -d)
pids=()
pgdir=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

log() { echo "gatewayload.sh: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_http() { # wait_http URL: until it answers (any status)
	for _ in $(seq 1 200); do
		if curl -s -o /dev/null "$1"; then return 0; fi
		sleep 0.1
	done
	log "$1 does not answer"; return 1
}

# to_ms VALUE: wrk's "812.00us", "1.20ms" or "1.05s" in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

# cpu_ticks PID: the user plus system CPU time the process has used, in
# clock ticks (all its threads).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)

# bench NAME PID URL [wrk args...]: runs wrk against the server process
# PID, prints "rps p50 p99 cpu", cpu being the server's CPU time per
# request in microseconds (what a request costs, whatever else the
# machine runs); fails on error answers.
bench() {
	local name=$1 pid=$2 url=$3; shift 3
	log "wrk $name: -t$threads -c$conns -d$duration $url"
	local before after
	before=$(cpu_ticks "$pid")
	"${wrk_cmd[@]}" -t"$threads" -c"$conns" -d"$duration" --latency "$@" "$url" >"$work/wrk.out"
	after=$(cpu_ticks "$pid")
	if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then
		log "$name: error answers:"; cat "$work/wrk.out" >&2; return 1
	fi
	local rps p50 p99 total cpu
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk.out")
	total=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$work/wrk.out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$work/wrk.out")")
	cpu=$(awk -v d="$((after - before))" -v t="$tick" -v n="$total" 'BEGIN { printf "%.1f", d / t * 1e6 / n }')
	echo "$rps $p50 $p99 $cpu"
}

log "building"
go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/lanyard-gwload" ./cmd/lanyard-gwload

log "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs"

# The upstream application.
"$work/lanyard-gwload" upstream -addr 127.0.0.1:0 -addr-file "$work/upstream.addr" &
upstream_pid=$!
pids+=("$upstream_pid")
for _ in $(seq 1 100); do [[ -s $work/upstream.addr ]] && break; sleep 0.1; done
upstream=$(cat "$work/upstream.addr")
wait_http "http://$upstream/"

# Caddy: a plain reverse proxy, no authentication, no access log.
caddy_port=$(free_port)
cat >"$work/Caddyfile" <<CADDY
{
	admin off
	auto_https off
}
http://127.0.0.1:$caddy_port {
	reverse_proxy $upstream
}
CADDY
HOME=$work XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
caddy_pid=$!
pids+=("$caddy_pid")
wait_http "http://127.0.0.1:$caddy_port/"

read -r up_rps up_p50 up_p99 up_cpu < <(bench upstream "$upstream_pid" "http://$upstream/bench/hello")
read -r caddy_rps caddy_p50 caddy_p99 caddy_cpu < <(bench caddy "$caddy_pid" "http://127.0.0.1:$caddy_port/bench/hello")

echo "| target | store | req/s | p50 ms | p99 ms | req/s vs Caddy | server CPU µs/req |"
echo "|---|---|---:|---:|---:|---:|---:|"
echo "| upstream alone (ceiling) | - | $up_rps | $up_p50 | $up_p99 | $(awk -v a="$up_rps" -v b="$caddy_rps" 'BEGIN { printf "%.2f", a / b }') | $up_cpu |"
echo "| Caddy reverse_proxy, no auth | - | $caddy_rps | $caddy_p50 | $caddy_p99 | 1.00 | $caddy_cpu |"

for engine in "${engines[@]}"; do
	port=$(free_port)
	store_args=(--data "$work/data-$engine")
	if [[ $engine == postgres ]]; then
		eval "$(scripts/pg.sh start)"
		pgdir=$LANYARD_TEST_PG_DIR
		store_args=(--database "$LANYARD_TEST_POSTGRES_URL")
	fi
	# A path route on Lanyard's host needs the administration on an
	# origin of its own (admin_base_url); the load never goes there.
	LANYARD_ROUTES="[{\"name\": \"bench\", \"path_prefix\": \"/bench/\", \"upstream\": \"http://$upstream\"}]" \
		LANYARD_ADMIN_BASE_URL="http://admin.localhost:$port" \
		"$work/lanyard" serve --addr "127.0.0.1:$port" --log-level warn "${store_args[@]}" >"$work/lanyard-$engine.log" 2>&1 &
	lanyard_pid=$!
	pids+=("$lanyard_pid")
	for _ in $(seq 1 300); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
		sleep 0.1
	done
	if [[ $engine == postgres ]]; then
		sid=$("$work/lanyard-gwload" session -database "$LANYARD_TEST_POSTGRES_URL")
	else
		sid=$("$work/lanyard-gwload" session -data "$work/data-$engine")
	fi
	cookie="Cookie: lanyard_session=$sid"
	# Check once that both answer as signed in.
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$cookie" "http://127.0.0.1:$port/auth/verify?roles=staff")
	[[ $code == 200 ]] || { log "$engine: /auth/verify answered $code with the session"; cat "$work/lanyard-$engine.log" >&2; exit 1; }
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$cookie" "http://127.0.0.1:$port/bench/hello")
	[[ $code == 200 ]] || { log "$engine: the proxy answered $code with the session"; cat "$work/lanyard-$engine.log" >&2; exit 1; }

	read -r px_rps px_p50 px_p99 px_cpu < <(bench "lanyard proxy ($engine)" "$lanyard_pid" "http://127.0.0.1:$port/bench/hello" -H "$cookie")
	read -r v_rps v_p50 v_p99 v_cpu < <(bench "lanyard /auth/verify ($engine)" "$lanyard_pid" "http://127.0.0.1:$port/auth/verify?roles=staff" -H "$cookie")
	echo "| Lanyard proxy, authenticated | $engine | $px_rps | $px_p50 | $px_p99 | $(awk -v a="$px_rps" -v b="$caddy_rps" 'BEGIN { printf "%.2f", a / b }') | $px_cpu |"
	echo "| Lanyard /auth/verify, authenticated | $engine | $v_rps | $v_p50 | $v_p99 | - | $v_cpu |"

	kill "$lanyard_pid"; wait "$lanyard_pid" 2>/dev/null || true
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; pgdir=""; fi
done

log "load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs"
echo
pinned=""; $pin && pinned=" -pin (wrk on CPU 0, servers on CPU 1)"
echo "wrk -t$threads -c$conns -d$duration --latency on $(getconf _NPROCESSORS_ONLN) cores$pinned; $(date -u +%Y-%m-%dT%H:%MZ); scripts/gatewayload.sh -d $duration -c $conns -t $threads${pinned:+ -pin} ${engines[*]}"
