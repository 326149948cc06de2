#!/usr/bin/env bash
# Checks the release: scripts/release.sh run twice over HEAD's commit, the
# second time with an empty Go build cache (every package compiled again)
# and another output directory, must give identical bytes (binaries and
# SBOMs); the checksums must match; the linux/amd64 binary must be static
# and print the commit in 'lanyard version'; each SBOM must be CycloneDX
# JSON naming the modules the binary links. Run by scripts/test.sh.
#
# RELEASE_CHECK_PLATFORMS narrows the second build (each platform compiled
# from nothing takes minutes on a small machine); default: all three.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

commit=$(git rev-parse HEAD)
scripts/release.sh -c "$commit" -o "$tmp/a" >/dev/null
PLATFORMS=${RELEASE_CHECK_PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64} GOCACHE="$tmp/cache" \
  scripts/release.sh -c "$commit" -o "$tmp/b" >/dev/null
compared=0
for f in "$tmp"/b/lanyard-*; do
  cmp "$f" "$tmp/a/${f##*/}" || { echo "release-check: two builds of $commit differ: ${f##*/}" >&2; exit 1; }
  compared=$((compared + 1))
done
(cd "$tmp/a" && sha256sum --quiet -c SHA256SUMS)

version=$("$tmp/a/lanyard-linux-amd64" version)
grep -q "revision: $commit" <<<"$version" || { echo "release-check: 'lanyard version' lacks commit $commit:" >&2; echo "$version" >&2; exit 1; }
file "$tmp/a/lanyard-linux-amd64" | grep -q "statically linked" || { echo "release-check: not a static binary" >&2; file "$tmp/a/lanyard-linux-amd64" >&2; exit 1; }

for sbom in "$tmp"/a/*.cdx.json; do
  python3 - "$sbom" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bomFormat"] == "CycloneDX" and d["specVersion"] == "1.5", "not CycloneDX 1.5"
names = {c["name"] for c in d["components"]}
for want in ("golang.org/x/crypto", "github.com/beevik/etree", "modernc.org/sqlite"):
    assert want in names, want + " missing from " + sys.argv[1]
assert all(c["purl"].startswith("pkg:golang/") for c in d["components"])
PY
done
echo "release-check: $compared files identical in two builds of $commit (the second from an empty cache); 'lanyard version' names it" >&2
