#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL server for tests.
#
#   eval "$(scripts/pg.sh start)"    # starts one; prints export lines:
#                                    #   LANYARD_TEST_POSTGRES_URL, LANYARD_TEST_PG_DIR
#   scripts/pg.sh stop "$LANYARD_TEST_PG_DIR"   # stops it and removes its directory
#   scripts/pg.sh halt DIR / resume DIR          # stops it / starts it again, same port and data
#
# By default the server runs with fsync, synchronous_commit and
# full_page_writes off: fast, but a crash of the server (or of the machine)
# may lose the last commits it acknowledged. Figures of crash tests run on
# it say nothing about durability. `start --durable` (or
# LANYARD_TEST_PG_DURABLE=1) turns all three on, as a production server
# runs: use it for crash tests.
#
# It uses Debian's PostgreSQL binaries (/usr/lib/postgresql/*/bin) and
# installs the postgresql package when they are missing (as root). The
# server runs as an unprivileged user (initdb refuses root), listens only on
# 127.0.0.1 on a free port, keeps its socket and data in a temporary
# directory, trusts local connections and runs with fsync off: it is for
# tests only. Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail

PG_USER_DEFAULT=lanyardtest

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { printf 'pg.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
	cat >&2 <<'EOF'
usage: scripts/pg.sh start [--durable]  start a test server, print export lines
                                      (--durable: fsync and synchronous_commit on)
       scripts/pg.sh stop DIR        stop the server in DIR and remove DIR
       scripts/pg.sh halt DIR        stop the server in DIR (fast shutdown), keep DIR
       scripts/pg.sh resume DIR      start the server in DIR again on its port
EOF
	exit 2
}

# find_bindir prints the Debian PostgreSQL bin directory of the highest
# version installed, or nothing.
find_bindir() {
	local d found=""
	# sort -V: version 10 comes after 9.
	while read -r d; do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/pg_isready" ]]; then
			found=$d
		fi
	done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
	echo "$found"
}

install_postgres() {
	[[ "$(id -u)" -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
	command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is not available"
	log "installing PostgreSQL with apt-get (one-time)"
	export DEBIAN_FRONTEND=noninteractive
	# Debian's package would create and start a cluster of its own; we only want the binaries.
	mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/lanyard-no-main.conf
	if ! apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends postgresql </dev/null >&2; then
		apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null >&2 || die "apt-get update failed"
		apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends postgresql </dev/null >&2 || die "apt-get install postgresql failed"
	fi
}

# pick_user prints an unprivileged user to run the server as.
pick_user() {
	if [[ "$(id -u)" -ne 0 ]]; then
		id -un
		return
	fi
	if ! id "$PG_USER_DEFAULT" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_DEFAULT" >/dev/null 2>&1 ||
			id "$PG_USER_DEFAULT" >/dev/null 2>&1 || # created by a concurrent run
			die "cannot create user $PG_USER_DEFAULT"
	fi
	echo "$PG_USER_DEFAULT"
}

# as_user runs a command as the server's user.
as_user() {
	local user=$1
	shift
	if [[ "$(id -u)" -ne 0 ]]; then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$user" -- "$@"
	else
		su -s /bin/sh "$user" -c "$(printf '%q ' "$@")"
	fi
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 20000))
		if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
			echo "$port"
			return
		fi
	done
	die "no free TCP port found"
}

start() {
	local durable=${LANYARD_TEST_PG_DURABLE:-}
	case "${1:-}" in
	--durable) durable=1 ;;
	"") ;;
	*) usage ;;
	esac
	local sync=off
	if [[ -n "$durable" && "$durable" != 0 ]]; then
		sync=on
	fi
	local bindir user dir port
	bindir=$(find_bindir)
	if [[ -z "$bindir" ]]; then
		install_postgres
		bindir=$(find_bindir)
		[[ -n "$bindir" ]] || die "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin after install"
	fi
	user=$(pick_user)
	# The server's user must be able to reach the directory: a private
	# TMPDIR (e.g. under /root) is not, /tmp is.
	local base=${TMPDIR:-/tmp}
	if [[ "$(id -u)" -eq 0 ]] && ! as_user "$user" test -x "$base" </dev/null 2>/dev/null; then
		base=/tmp
	fi
	dir=$(mktemp -d "$base/lanyard-pg.XXXXXX") || die "cannot create a directory in $base"
	chmod 0755 "$dir"
	mkdir -p "$dir/data" "$dir/socket"
	if [[ "$(id -u)" -eq 0 ]]; then
		chown -R "$user" "$dir" || die "cannot chown $dir to $user"
	fi

	log "initdb in $dir/data as $user ($bindir)"
	if ! as_user "$user" "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 \
		--locale=C.UTF-8 --no-instructions </dev/null >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		die "initdb failed"
	fi
	cat >>"$dir/data/postgresql.conf" <<EOF

# scripts/pg.sh: a throwaway server for tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/socket'
max_connections = 200
fsync = $sync
synchronous_commit = $sync
full_page_writes = $sync
shared_buffers = 128MB
logging_collector = off
EOF
	local tries
	for tries in 1 2 3 4 5; do
		port=$(free_port)
		if as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start \
			</dev/null >/dev/null 2>&1; then
			break
		fi
		if ((tries == 5)); then
			tail -n 30 "$dir/server.log" >&2 || true
			rm -rf "$dir"
			die "PostgreSQL did not start (log above)"
		fi
		log "start on port $port failed, trying another port"
	done
	local ready=""
	for _ in $(seq 1 60); do
		if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" </dev/null; then
			ready=1
			break
		fi
		sleep 0.5
	done
	if [[ -z "$ready" ]]; then
		as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop </dev/null >/dev/null 2>&1 || true
		rm -rf "$dir"
		die "PostgreSQL on port $port is not ready after 30s"
	fi
	echo "$user" >"$dir/user"
	echo "$bindir" >"$dir/bindir"
	echo "$port" >"$dir/port"
	log "PostgreSQL ready on 127.0.0.1:$port (fsync and synchronous_commit $sync)"
	echo "export LANYARD_TEST_POSTGRES_URL='postgres://$user@127.0.0.1:$port/postgres?sslmode=disable'"
	echo "export LANYARD_TEST_PG_DIR='$dir'"
}

stop() {
	local dir=${1:-}
	[[ -n "$dir" ]] || usage
	if [[ ! -d "$dir" ]]; then
		log "$dir does not exist: nothing to stop"
		return 0
	fi
	[[ -f "$dir/data/PG_VERSION" || -f "$dir/bindir" ]] || die "$dir does not look like a directory made by pg.sh start"
	local user bindir
	user=$(cat "$dir/user" 2>/dev/null || id -un)
	bindir=$(cat "$dir/bindir" 2>/dev/null || find_bindir)
	if [[ -n "$bindir" && -f "$dir/data/postmaster.pid" ]]; then
		as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop </dev/null >/dev/null 2>&1 ||
			as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop </dev/null >/dev/null 2>&1 ||
			log "pg_ctl stop failed; removing $dir anyway"
	fi
	rm -rf "$dir"
	log "stopped and removed $dir"
}

# halt stops the server in DIR and keeps its data, to be resumed.
halt() {
	local dir=${1:-}
	[[ -n "$dir" && -f "$dir/port" ]] || die "$dir does not look like a directory made by pg.sh start"
	as_user "$(cat "$dir/user")" "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop \
		</dev/null >/dev/null 2>&1 || die "pg_ctl stop failed"
	log "halted the server in $dir"
}

# resume starts the server in DIR again, on the port it had.
resume() {
	local dir=${1:-}
	[[ -n "$dir" && -f "$dir/port" ]] || die "$dir does not look like a directory made by pg.sh start"
	as_user "$(cat "$dir/user")" "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		-o "-p $(cat "$dir/port")" -w -t 60 start </dev/null >/dev/null 2>&1 || die "pg_ctl start failed"
	log "resumed the server in $dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
halt) halt "${2:-}" ;;
resume) resume "${2:-}" ;;
*) usage ;;
esac
