#!/usr/bin/env bash
# Benchmarks of the XML machinery (saml/xmldsig), for BENCHMARKS.md:
#   1. the parser's pools and the canonicalisation writer pool, on and off
#      (build tags xmldsig_nopool, xmldsig_noc14npool), on saml's
#      BenchmarkValidateSignedAssertion and BenchmarkParse;
#   2. signed-assertion validation against its crypto floor (bench/:
#      BenchmarkValidate/signed-assertion/lanyard, BenchmarkFloor/signed-assertion).
# The variants run interleaved, one count at a time, so that a change in
# the machine's load hits them alike. Besides the wall time, every one of
# these benchmarks reports cpu-ns/op (the process's CPU time per operation),
# which a busy shared machine disturbs far less; the floor ratio is given
# as the median of the ratios of adjacent runs, in CPU time and wall time.
#
#   scripts/bench-xmldsig.sh [COUNT]     # default 10
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/pool.test" ./saml
go test -c -tags xmldsig_nopool -o "$out/noparserpool.test" ./saml
go test -c -tags xmldsig_nopool,xmldsig_noc14npool -o "$out/nopool.test" ./saml
(cd bench && go test -c -o "$out/floor.test" .)
for _ in $(seq "$count"); do
  for v in pool noparserpool nopool; do
    (cd saml && "$out/$v.test" -test.run '^$' -test.bench '^Benchmark(ValidateSignedAssertion|Parse|FloorVerify)$' -test.benchmem -test.count 1 >>"$out/$v.txt")
  done
  (cd bench && "$out/floor.test" -test.run '^$' -test.bench '^BenchmarkValidate$/^signed-assertion$/^lanyard$' -test.benchmem -test.count 1 >>"$out/floor.txt"
   "$out/floor.test" -test.run '^$' -test.bench '^BenchmarkFloor$/^signed-assertion$' -test.benchmem -test.count 1 >>"$out/floor.txt")
done
benchstat() { go run golang.org/x/perf/cmd/benchstat@latest "$@"; }
echo "== pools: on (pool), parser pools off (noparserpool), all off (nopool)"
(cd "$out" && benchstat pool.txt noparserpool.txt nopool.txt)
echo "== signed-assertion validation and its floor"
(cd "$out" && benchstat floor.txt)
for metric in cpu-ns/op ns/op; do
  awk -v m="$metric" '{for (i = 2; i <= NF; i++) if ($i == m) x = $(i-1)}
    /^BenchmarkValidate\/signed-assertion\/lanyard/ {v = x} /^BenchmarkFloor\/signed-assertion/ {print v / x}' "$out/floor.txt" |
    sort -n | awk -v m="$metric" '{r[NR]=$1} END {printf "validation / floor in %s, adjacent runs: median %.2f (min %.2f, max %.2f, n=%d)\n", m, r[int((NR+1)/2)], r[1], r[NR], NR}'
done
uptime
