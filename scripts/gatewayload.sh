#!/usr/bin/env bash
# gatewayload.sh: load run of Lanyard's application gateway against Caddy,
# on loopback, all against the same tiny upstream application, in
# interleaved rounds. Each round runs, one after the other with the same
# duration and connections:
#
#   1. the upstream alone (the ceiling);
#   2. Caddy's plain reverse_proxy to it, no authentication (Debian caddy);
#   3. Lanyard's reverse proxy to it, every request authenticated by one hot
#      session cookie (identity headers and X-Lanyard-JWT added);
#   4. with -anchor REV, the same proxy built from REV (a before-anchor);
#   5. with -verify, Lanyard's forward-auth answer GET /auth/verify.
#
# For every run it records the requests per second, p50 and p99 latency, and
# the CPU time (user + system, from /proc/PID/stat) per request of the proxy
# process and, separately, of the upstream, and how busy the machine was.
# It prints the rounds, then the medians over the rounds and the ratios
# Lanyard / Caddy (throughput and proxy CPU per request), each ratio the
# median of the per-round ratios (both sides of a ratio ran in the same
# round, a few seconds apart).
#
#   scripts/gatewayload.sh [-d 10s] [-c 64[,16...]] [-t 2] [-rounds 3] [-pin]
#                          [-anchor REV] [-verify] [-profile DIR] [sqlite] [postgres]
#
# -c takes a comma-separated list: the rounds run for each value.
# -pin keeps the load generator off the servers' core: wrk runs on CPU 0,
# every server (the upstream, Caddy, Lanyard, PostgreSQL) on CPU 1.
# -anchor REV builds lanyard from the commit REV of this repository (git
# archive into the temporary directory; the checkout is not touched) and
# runs it on a store of its own as one more target of every round.
# -profile DIR, after the rounds, takes a CPU profile and an allocation
# profile of Lanyard's proxy under one more wrk run (at the first -c) and
# writes them to DIR (go tool pprof DIR/proxy-cpu.pb.gz).
#
# Needs wrk, caddy and python3; builds lanyard and lanyard-gwload into a
# temporary directory; starts a throwaway PostgreSQL with scripts/pg.sh for
# the postgres run. Everything listens on 127.0.0.1 and is stopped at the
# end. Progress goes to stderr, the tables to stdout.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/gatewayload.sh [-d 10s] [-c 64[,16...]] [-t 2] [-rounds 3] [-pin] [-anchor REV] [-verify] [-profile DIR] [sqlite] [postgres]" >&2
	exit 2
}

duration=10s
conns_list=64
threads=2
rounds=3
pin=false
anchor=""
verify=false
profile_dir=""
engines=()
args=("$@")
while (($#)); do
	case $1 in
	-d) duration=$2; shift 2 ;;
	-c) conns_list=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	-rounds) rounds=$2; shift 2 ;;
	-pin) pin=true; shift ;;
	-anchor) anchor=$2; shift 2 ;;
	-verify) verify=true; shift ;;
	-profile) profile_dir=$2; shift 2 ;;
	sqlite | postgres) engines+=("$1"); shift ;;
	*) usage ;;
	esac
done
((${#engines[@]})) || engines=(sqlite postgres)
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "gatewayload.sh: -rounds wants a positive count, not $rounds" >&2; exit 2; }
IFS=, read -r -a conns_values <<<"$conns_list"
for c in "${conns_values[@]}"; do
	[[ $c =~ ^[1-9][0-9]*$ ]] || { echo "gatewayload.sh: -c wants connection counts like 64 or 64,16, not $conns_list" >&2; exit 2; }
done
if [[ -n $profile_dir ]]; then
	mkdir -p "$profile_dir"
	profile_dir=$(cd "$profile_dir" && pwd)
fi

# With -pin, run this script (and so every server it starts) on CPU 1; wrk
# is moved to CPU 0 where it is called.
wrk_cmd=(wrk)
if $pin; then
	command -v taskset >/dev/null || { echo "gatewayload.sh: -pin needs taskset (util-linux)" >&2; exit 1; }
	if [[ "${GATEWAYLOAD_PINNED:-}" != 1 ]]; then
		GATEWAYLOAD_PINNED=1 exec taskset -c 1 "$0" "${args[@]}"
	fi
	wrk_cmd=(taskset -c 0 wrk)
fi

for tool in wrk caddy python3; do
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
# machine_ticks: "busy total" clock ticks of all CPUs since boot.
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
tick=$(getconf CLK_TCK)

results=$work/results # engine conns round target rps p50 p99 cpu upstream_cpu busy%

# bench ENGINE CONNS ROUND TARGET PID URL [wrk args...]: runs wrk against
# the server process PID and appends a line to $results; fails on error
# answers. CPU figures are µs per request: the server's, and the
# upstream's; busy is the share of the machine's CPUs in use (all
# processes, wrk and other users' included).
bench() {
	local engine=$1 conns=$2 round=$3 target=$4 pid=$5 url=$6; shift 6
	log "round $round, $target ($engine): wrk -t$threads -c$conns -d$duration $url"
	local before after up_before up_after m_before m_after
	before=$(cpu_ticks "$pid")
	up_before=$(cpu_ticks "$upstream_pid")
	m_before=$(machine_ticks)
	"${wrk_cmd[@]}" -t"$threads" -c"$conns" -d"$duration" --latency "$@" "$url" >"$work/wrk.out"
	after=$(cpu_ticks "$pid")
	up_after=$(cpu_ticks "$upstream_pid")
	m_after=$(machine_ticks)
	if grep -q "Non-2xx or 3xx" "$work/wrk.out"; then
		log "$target: error answers:"; cat "$work/wrk.out" >&2; return 1
	fi
	local rps p50 p99 total cpu upcpu busy
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk.out")
	total=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$work/wrk.out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$work/wrk.out")")
	cpu=$(awk -v d="$((after - before))" -v t="$tick" -v n="$total" 'BEGIN { printf "%.1f", d / t * 1e6 / n }')
	upcpu=$(awk -v d="$((up_after - up_before))" -v t="$tick" -v n="$total" 'BEGIN { printf "%.1f", d / t * 1e6 / n }')
	busy=$(awk -v a="$m_before" -v b="$m_after" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", (y[1] - x[1]) / (y[2] - x[2]) * 100 }')
	echo "$engine $conns $round $target $rps $p50 $p99 $cpu $upcpu $busy" >>"$results"
	log "  $rps req/s, p50 $p50 ms, p99 $p99 ms, $cpu µs CPU/req (upstream $upcpu), machine $busy% busy"
}

log "building"
go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/lanyard-gwload" ./cmd/lanyard-gwload
anchor_desc=""
if [[ -n $anchor ]]; then
	anchor_commit=$(git rev-parse --short "$anchor^{commit}")
	anchor_desc="$anchor ($anchor_commit)"
	log "building the anchor $anchor_desc"
	mkdir "$work/anchor-src"
	git archive "$anchor_commit" | tar -x -C "$work/anchor-src"
	(cd "$work/anchor-src" && go build -o "$work/lanyard-anchor" ./cmd/lanyard && go build -o "$work/lanyard-gwload-anchor" ./cmd/lanyard-gwload)
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "$(nproc) cores, load average $load_before before the runs"

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

# start_lanyard NAME BINARY GWLOAD ENGINE: starts a Lanyard server on a store
# of its own with the route /bench/ to the upstream, opens a session, and
# sets lanyard_pid, lanyard_port and lanyard_cookie.
start_lanyard() {
	local name=$1 bin=$2 gwload=$3 engine=$4
	local port store_args session_args
	port=$(free_port)
	if [[ $engine == postgres ]]; then
		local db=lanyard_$name url
		psql -q "$LANYARD_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
		url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$LANYARD_TEST_POSTGRES_URL" "$db")
		store_args=(--database "$url")
		session_args=(-database "$url")
	else
		store_args=(--data "$work/data-$name")
		session_args=(-data "$work/data-$name")
	fi
	local env=()
	if [[ -n $profile_dir && $name == lanyard ]]; then
		lanyard_pprof=127.0.0.1:$(free_port)
		env=(LANYARD_PPROF_ADDR="$lanyard_pprof")
	fi
	# A path route on Lanyard's host needs the administration on an
	# origin of its own (admin_base_url); the load never goes there.
	env "${env[@]}" LANYARD_ROUTES="[{\"name\": \"bench\", \"path_prefix\": \"/bench/\", \"upstream\": \"http://$upstream\"}]" \
		LANYARD_ADMIN_BASE_URL="http://admin.localhost:$port" \
		"$bin" serve --addr "127.0.0.1:$port" --log-level warn "${store_args[@]}" >"$work/$name-$engine.log" 2>&1 &
	lanyard_pid=$!
	pids+=("$lanyard_pid")
	for _ in $(seq 1 300); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
		sleep 0.1
	done
	local sid code
	sid=$("$gwload" session "${session_args[@]}")
	lanyard_cookie="Cookie: lanyard_session=$sid"
	lanyard_port=$port
	# Check once that both answer as signed in.
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$lanyard_cookie" "http://127.0.0.1:$port/auth/verify?roles=staff")
	[[ $code == 200 ]] || { log "$name ($engine): /auth/verify answered $code with the session"; cat "$work/$name-$engine.log" >&2; exit 1; }
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$lanyard_cookie" "http://127.0.0.1:$port/bench/hello")
	[[ $code == 200 ]] || { log "$name ($engine): the proxy answered $code with the session"; cat "$work/$name-$engine.log" >&2; exit 1; }
}

for engine in "${engines[@]}"; do
	if [[ $engine == postgres ]]; then
		eval "$(scripts/pg.sh start)"
		pgdir=$LANYARD_TEST_PG_DIR
	fi
	start_lanyard lanyard "$work/lanyard" "$work/lanyard-gwload" "$engine"
	ly_pid=$lanyard_pid ly_port=$lanyard_port ly_cookie=$lanyard_cookie ly_pprof=${lanyard_pprof:-}
	if [[ -n $anchor ]]; then
		start_lanyard anchor "$work/lanyard-anchor" "$work/lanyard-gwload-anchor" "$engine"
		an_pid=$lanyard_pid an_port=$lanyard_port an_cookie=$lanyard_cookie
	fi

	for conns in "${conns_values[@]}"; do
		for round in $(seq 1 "$rounds"); do
			bench "$engine" "$conns" "$round" upstream "$upstream_pid" "http://$upstream/bench/hello"
			bench "$engine" "$conns" "$round" caddy "$caddy_pid" "http://127.0.0.1:$caddy_port/bench/hello"
			bench "$engine" "$conns" "$round" lanyard "$ly_pid" "http://127.0.0.1:$ly_port/bench/hello" -H "$ly_cookie"
			if [[ -n $anchor ]]; then
				bench "$engine" "$conns" "$round" anchor "$an_pid" "http://127.0.0.1:$an_port/bench/hello" -H "$an_cookie"
			fi
			if $verify; then
				bench "$engine" "$conns" "$round" verify "$ly_pid" "http://127.0.0.1:$ly_port/auth/verify?roles=staff" -H "$ly_cookie"
			fi
		done
	done

	if [[ -n $profile_dir ]]; then
		conns=${conns_values[0]}
		secs=${duration%s}
		log "profiling Lanyard's proxy ($engine, -c $conns, ${secs}s)"
		curl -s -o "$profile_dir/proxy-allocs-base-$engine.pb.gz" "http://$ly_pprof/debug/pprof/allocs"
		curl -s -o "$profile_dir/proxy-cpu-$engine.pb.gz" "http://$ly_pprof/debug/pprof/profile?seconds=$((secs + 1))" &
		prof_pid=$!
		sleep 0.5
		"${wrk_cmd[@]}" -t"$threads" -c"$conns" -d"$duration" "http://127.0.0.1:$ly_port/bench/hello" -H "$ly_cookie" >"$work/wrk-profile.out"
		wait "$prof_pid"
		curl -s -o "$profile_dir/proxy-allocs-$engine.pb.gz" "http://$ly_pprof/debug/pprof/allocs"
		log "profiles in $profile_dir: go tool pprof -top $profile_dir/proxy-cpu-$engine.pb.gz; go tool pprof -sample_index=alloc_space -base $profile_dir/proxy-allocs-base-$engine.pb.gz $profile_dir/proxy-allocs-$engine.pb.gz"
	fi

	kill "$ly_pid"; wait "$ly_pid" 2>/dev/null || true
	if [[ -n $anchor ]]; then kill "$an_pid"; wait "$an_pid" 2>/dev/null || true; fi
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; pgdir=""; fi
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average $load_after after the runs"

pinned="" targets="upstream, Caddy, Lanyard"
if $pin; then pinned=" -pin"; fi
if [[ -n $anchor ]]; then targets+=", anchor"; fi
verify_flag=""
if $verify; then verify_flag=" -verify" targets+=", /auth/verify"; fi
command_line="scripts/gatewayload.sh -d $duration -c $conns_list -t $threads -rounds $rounds$pinned${anchor:+ -anchor $anchor}$verify_flag ${engines[*]}"
python3 - "$results" "$anchor_desc" <<'PY'
import statistics, sys
from collections import defaultdict

path, anchor_desc = sys.argv[1], sys.argv[2]
names = {
    "upstream": "upstream alone (ceiling)",
    "caddy": "Caddy reverse_proxy, no auth",
    "lanyard": "Lanyard proxy, hot session (this tree)",
    "anchor": "Lanyard proxy, hot session (anchor %s)" % anchor_desc,
    "verify": "Lanyard /auth/verify, hot session (this tree)",
}
rows = defaultdict(list)  # (engine, conns, target) -> [(round, rps, p50, p99, cpu, upcpu, busy)]
for line in open(path):
    e, c, r, t, rps, p50, p99, cpu, up, busy = line.split()
    rows[(e, int(c), t)].append((int(r), float(rps), float(p50), float(p99), float(cpu), float(up), float(busy)))
med = statistics.median

def by_round(e, c, t):
    return {x[0]: x for x in rows.get((e, c, t), [])}

groups = sorted({(e, c) for e, c, _ in rows}, key=lambda g: (g[0], -g[1]))
print("Rounds (req/s, proxy CPU µs/req, upstream CPU µs/req, machine busy %):")
print()
for e, c in groups:
    for t in ["upstream", "caddy", "lanyard", "anchor", "verify"]:
        if (e, c, t) in rows:
            cells = ["%d: %.0f, %.1f, %.1f, %.0f%%" % (x[0], x[1], x[4], x[5], x[6]) for x in rows[(e, c, t)]]
            print("    %-8s -c %-3d %-8s %s" % (e, c, t, " | ".join(cells)))
print()
print("| target | store | conns | req/s | p50 ms | p99 ms | proxy CPU µs/req | upstream CPU µs/req | req/s ÷ Caddy | CPU/req ÷ Caddy |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for e, c in groups:
    caddy = by_round(e, c, "caddy")
    for t in ["upstream", "caddy", "lanyard", "anchor", "verify"]:
        xs = rows.get((e, c, t))
        if not xs:
            continue
        mine = by_round(e, c, t)
        common = sorted(set(mine) & set(caddy))
        rps_ratio = med([mine[r][1] / caddy[r][1] for r in common]) if common else float("nan")
        cpu_ratio = med([mine[r][4] / caddy[r][4] for r in common]) if common else float("nan")
        bold = "**" if t == "lanyard" else ""
        print("| %s | %s | %d | %.0f | %.2f | %.2f | %.1f | %.1f | %s%.2f%s | %s%.2f%s |" % (
            names[t], e if t not in ("upstream", "caddy") else "-", c,
            med(x[1] for x in xs), med(x[2] for x in xs), med(x[3] for x in xs),
            med(x[4] for x in xs), med(x[5] for x in xs),
            bold, rps_ratio, bold, bold, cpu_ratio, bold))
PY
echo
echo "Medians of $rounds interleaved rounds (wrk -t$threads -d$duration --latency, each round: $targets); ratios are medians of the per-round ratios. $(getconf _NPROCESSORS_ONLN) cores${pinned:+, wrk on CPU 0 and the servers on CPU 1}; load average $load_before before, $load_after after; $(date -u +%Y-%m-%dT%H:%MZ); $command_line"
