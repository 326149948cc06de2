#!/usr/bin/env bash
# shibload.sh: SAML logins at Lanyard's ACS against Shibboleth SP 3, side
# by side, in interleaved rounds; prints markdown tables for BENCHMARKS.md.
#
#   scripts/shibload.sh [-n 3000] [-c 4,8] [-rounds 3] [-anchor GITREF] [-jit] [sqlite] [postgres]
#
# It builds lanyard and lanyard-acsload (and, with -anchor, lanyard from
# that git ref, e.g. main, exported with git archive: no worktree is
# touched) into a temporary directory. lanyard-acsload then starts, on
# 127.0.0.1: lanyard serve (SQLite in a temporary directory, or the
# throwaway PostgreSQL of scripts/pg.sh, stopped at the end), the anchor
# beside it (its own directory, or its own database in that PostgreSQL,
# so that it migrates its own schema), and its own Apache httpd
# (mpm_event, mod_shib) with its own
# shibd, configured in a temporary directory and run as an unprivileged
# user. Each round posts -n unsolicited signed responses (the same test
# IdP generator, RSA-2048, signed assertion, the same attributes) with
# 4 and 8 clients to each server in turn; a Shibboleth login counts when
# its 302 leads to the protected page answering 200 with the session. CPU
# per login is Lanyard's process, PostgreSQL's processes apart, and all of
# Shibboleth's (Apache's parent and children, shibd). Any failed login
# fails the run. -jit makes every login a new user (account created just in
# time) instead of 200 returning users.
set -euo pipefail

cd "$(dirname "$0")/.."

n=3000
conc=4,8
rounds=3
anchor=""
extra=()
engines=()
while (($#)); do
	case $1 in
	-n) n=$2; shift 2 ;;
	-c) conc=$2; shift 2 ;;
	-rounds) rounds=$2; shift 2 ;;
	-anchor) anchor=$2; shift 2 ;;
	-jit) extra+=(-jit); shift ;;
	sqlite | postgres) engines+=("$1"); shift ;;
	*) echo "usage: scripts/shibload.sh [-n N] [-c 4,8] [-rounds 3] [-anchor GITREF] [-jit] [sqlite] [postgres]" >&2; exit 2 ;;
	esac
done
((${#engines[@]})) || engines=(sqlite postgres)

for f in /usr/sbin/apache2 /usr/sbin/shibd /usr/lib/apache2/modules/mod_shib.so; do
	if [[ ! -e $f ]]; then
		echo "shibload.sh: Shibboleth SP 3 is not installed ($f is missing); install it with:" >&2
		echo "  apt-get install -y libapache2-mod-shib apache2     # Debian; it brings shibd" >&2
		exit 1
	fi
done

work=$(mktemp -d)
pgdir=""
cleanup() {
	if [[ -n "$pgdir" ]]; then scripts/pg.sh stop "$pgdir" >&2 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "shibload.sh: building" >&2
go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/lanyard-acsload" ./cmd/lanyard-acsload
args=(-lanyard "$work/lanyard" -shibboleth -rounds "$rounds" -n "$n" -c "$conc" "${extra[@]}")
if [[ -n "$anchor" ]]; then
	echo "shibload.sh: building the anchor $anchor ($(git rev-parse --short "$anchor"))" >&2
	mkdir "$work/anchor-src"
	git archive "$anchor" | tar -x -C "$work/anchor-src"
	(cd "$work/anchor-src" && go build -o "$work/lanyard-anchor" ./cmd/lanyard)
	args+=(-anchor "$work/lanyard-anchor")
fi

echo "shibload.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs" >&2
for engine in "${engines[@]}"; do
	eargs=()
	if [[ $engine == postgres ]]; then
		eval "$(scripts/pg.sh start)"
		pgdir=$LANYARD_TEST_PG_DIR
		eargs+=(-database "$LANYARD_TEST_POSTGRES_URL" -postgres-pid-file "$pgdir/data/postmaster.pid")
		if [[ -n "$anchor" ]]; then
			# The anchor migrates a database of its own: its schema may
			# be older than this tree's.
			psql -q "$LANYARD_TEST_POSTGRES_URL" -c 'CREATE DATABASE anchor'
			eargs+=(-anchor-database "${LANYARD_TEST_POSTGRES_URL/\/postgres\?//anchor?}")
		fi
	fi
	echo "## $engine"
	echo
	"$work/lanyard-acsload" "${args[@]}" "${eargs[@]}"
	echo
	if [[ $engine == postgres ]]; then
		scripts/pg.sh stop "$pgdir" >&2
		pgdir=""
	fi
done
echo "shibload.sh: load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs" >&2
