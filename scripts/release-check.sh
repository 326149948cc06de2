#!/usr/bin/env bash
# Checks the release: scripts/release.sh run twice over HEAD, the second
# time with an empty Go build cache and another output directory, must give
# identical bytes (binaries, SBOMs, checksums); the linux/amd64 binary must
# print HEAD's commit in 'lanyard version'; each SBOM must be CycloneDX JSON
# naming the modules the binary links. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

scripts/release.sh -o "$tmp/a" >/dev/null
GOCACHE="$tmp/cache" scripts/release.sh -o "$tmp/b" >/dev/null
if ! diff "$tmp/a/SHA256SUMS" "$tmp/b/SHA256SUMS"; then
  echo "release-check: two builds of the same commit differ" >&2; exit 1
fi
for f in "$tmp"/a/lanyard-*; do cmp "$f" "$tmp/b/${f##*/}"; done
(cd "$tmp/a" && sha256sum --quiet -c SHA256SUMS)

commit=$(git rev-parse HEAD)
version=$("$tmp/a/lanyard-linux-amd64" version)
grep -q "revision: $commit" <<<"$version" || { echo "release-check: 'lanyard version' lacks commit $commit:" >&2; echo "$version" >&2; exit 1; }
file "$tmp/a/lanyard-linux-amd64" 2>/dev/null | grep -q "statically linked" || { echo "release-check: not a static binary" >&2; file "$tmp/a/lanyard-linux-amd64" >&2; exit 1; }

for sbom in "$tmp"/a/*.cdx.json; do
  python3 - "$sbom" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bomFormat"] == "CycloneDX" and d["specVersion"] == "1.5", "not CycloneDX 1.5"
names = {c["name"] for c in d["components"]}
for want in ("golang.org/x/crypto", "github.com/beevik/etree"):
    assert want in names, want + " missing from " + sys.argv[1]
assert all(c["purl"].startswith("pkg:golang/") for c in d["components"])
PY
done
echo "release-check: two builds identical ($(wc -l < "$tmp/a/SHA256SUMS") files), version names $commit" >&2
