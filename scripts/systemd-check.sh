#!/usr/bin/env bash
# Checks packaging/systemd/lanyard.service: 'systemd-analyze verify' with no
# complaint (ExecStart pointed at the binary given, since verify wants it to
# exist), 'lanyard config check' of the example configuration, and
# 'systemd-analyze security' at 2.0 or below ("OK"; lower is safer).
# Usage: scripts/systemd-check.sh LANYARD-BINARY. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1")
unit=packaging/systemd/lanyard.service
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed "s|^ExecStart=/usr/local/bin/lanyard |ExecStart=$bin |" "$unit" > "$tmp/lanyard.service"
grep -q "^ExecStart=$bin serve" "$tmp/lanyard.service" || { echo "systemd-check: ExecStart not found in $unit" >&2; exit 1; }
out=$(systemd-analyze verify "$tmp/lanyard.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "systemd-check: systemd-analyze verify complains:" >&2; echo "$out" >&2; exit 1; fi

"$bin" config check packaging/systemd/lanyard.yaml >/dev/null

score=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for lanyard.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
[ -n "$score" ] || { echo "systemd-check: no exposure level from systemd-analyze security" >&2; exit 1; }
echo "systemd-check: verify clean; systemd-analyze security exposure $score" >&2
awk -v s="${score% *}" 'BEGIN { exit !(s <= 2.0) }' || { echo "systemd-check: exposure above 2.0" >&2; exit 1; }
