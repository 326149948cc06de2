#!/usr/bin/env bash
# Benchmarks of the XML machinery (saml/xmldsig), for BENCHMARKS.md:
#   1. the parser's pools and the canonicalisation writer pool, on and off
#      (build tags xmldsig_nopool, xmldsig_noc14npool), on saml's
#      BenchmarkValidateSignedAssertion and BenchmarkParse (skipped with
#      POOLS=0);
#   2. signed-response validation against its crypto floor, for the 6 KB
#      signed assertion and the 33 KB one with 200 groups (bench/:
#      BenchmarkValidate/{signed-assertion,groups-200}/lanyard against
#      BenchmarkFloor/{signed-assertion,groups-200}: base64 decoding, the
#      SHA-256 digests of the assertion and SignedInfo, one RSA-2048
#      verification);
#   3. with BASE=<git revision>, the same validation and floor benchmarks of
#      that revision's tree (git archive, with this tree's bench/ test files
#      copied in, so that both run the same benchmarks), interleaved with
#      this tree's: the before/after of a change.
# The variants run interleaved, one count at a time, so that a change in
# the machine's load hits them alike. Besides the wall time, every one of
# these benchmarks reports cpu-ns/op (the process's CPU time per operation),
# which a busy shared machine disturbs far less; the floor ratio is given
# as the median of the ratios of adjacent runs, in CPU time and wall time.
#
#   scripts/bench-xmldsig.sh [COUNT]                # default 10
#   POOLS=0 BASE=main scripts/bench-xmldsig.sh 5    # floor ratios, before/after
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10}
pools=${POOLS:-1}
base=${BASE:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "$pools" != 0 ]; then
  go test -c -o "$out/pool.test" ./saml
  go test -c -tags xmldsig_nopool -o "$out/noparserpool.test" ./saml
  go test -c -tags xmldsig_nopool,xmldsig_noc14npool -o "$out/nopool.test" ./saml
fi
(cd bench && go test -c -o "$out/floor.test" .)
trees=(floor)
if [ -n "$base" ]; then
  mkdir "$out/base"
  git archive "$base" | tar -x -C "$out/base"
  cp bench/*_test.go "$out/base/bench/"
  (cd "$out/base/bench" && go test -c -o "$out/base.test" .)
  trees=(base floor)
fi
cases=(signed-assertion groups-200)
for _ in $(seq "$count"); do
  if [ "$pools" != 0 ]; then
    for v in pool noparserpool nopool; do
      (cd saml && "$out/$v.test" -test.run '^$' -test.bench '^Benchmark(ValidateSignedAssertion|Parse|FloorVerify)$' -test.benchmem -test.count 1 >>"$out/$v.txt")
    done
  fi
  for t in "${trees[@]}"; do
    for c in "${cases[@]}"; do
      (cd bench && "$out/$t.test" -test.run '^$' -test.bench "^BenchmarkValidate\$/^$c\$/^lanyard\$" -test.benchmem -test.count 1 >>"$out/$t.txt"
       "$out/$t.test" -test.run '^$' -test.bench "^BenchmarkFloor\$/^$c\$" -test.benchmem -test.count 1 >>"$out/$t.txt")
    done
  done
done
benchstat() { go run golang.org/x/perf/cmd/benchstat@latest "$@"; }
if [ "$pools" != 0 ]; then
  echo "== pools: on (pool), parser pools off (noparserpool), all off (nopool)"
  (cd "$out" && benchstat pool.txt noparserpool.txt nopool.txt)
fi
if [ -n "$base" ]; then
  echo "== validation and its floor: $base (base.txt) against this tree (floor.txt)"
  (cd "$out" && benchstat base.txt floor.txt)
else
  echo "== validation and its floor"
  (cd "$out" && benchstat floor.txt)
fi
# ratio FILE CASE METRIC: the median of validation / floor over adjacent runs.
ratio() {
  awk -v m="$3" -v c="$2" '{for (i = 2; i <= NF; i++) if ($i == m) x = $(i-1)}
    index($1, "BenchmarkValidate/" c "/lanyard") == 1 {v = x}
    index($1, "BenchmarkFloor/" c "-") == 1 {print v / x}' "$1" |
    sort -n | awk -v m="$3" -v c="$2" -v f="$4" '{r[NR]=$1} END {printf "%-5s %-16s validation / floor in %-9s adjacent runs: median %.2f (min %.2f, max %.2f, n=%d)\n", f, c, m, r[int((NR+1)/2)], r[1], r[NR], NR}'
}
for t in "${trees[@]}"; do
  label=this
  [ "$t" = base ] && label=base
  for c in "${cases[@]}"; do
    for metric in cpu-ns/op ns/op; do
      ratio "$out/$t.txt" "$c" "$metric" "$label"
    done
  done
done
uptime
