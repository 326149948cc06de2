#!/usr/bin/env bash
# Builds Lanyard's release artefacts from a commit (HEAD by default),
# checked out afresh in a temporary clone so that nothing uncommitted enters
# them and the binary records the commit (Go records none in a git worktree):
#
#   DIR/lanyard-OS-ARCH            static binaries (CGO_ENABLED=0, -trimpath)
#   DIR/lanyard-OS-ARCH.cdx.json   CycloneDX SBOM of each binary's modules
#   DIR/SHA256SUMS                 SHA-256 of every file above
#
# for linux/amd64, linux/arm64 and darwin/arm64. The builds are
# reproducible: no path, build ID or clock enters the binary (the date
# 'lanyard version' shows is the commit's), so the same commit built with
# the same Go toolchain gives the same bytes anywhere.
#
# Usage: scripts/release.sh [-o DIR] [-c COMMIT] [VERSION]
#   DIR defaults to ./dist, COMMIT to HEAD, VERSION to 'git describe --tags
#   --always' of the commit.
#   PLATFORMS="linux/amd64" limits the targets.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist commit=HEAD version=""
while [ $# -gt 0 ]; do
  case $1 in
    -o) out=$2; shift 2 ;;
    -c) commit=$2; shift 2 ;;
    -*) echo "release.sh: unknown flag $1" >&2; exit 2 ;;
    *) version=$1; shift ;;
  esac
done
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64}

commit=$(git rev-parse --verify "$commit^{commit}")
if [ "$commit" = "$(git rev-parse HEAD)" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "release.sh: note: uncommitted changes are not in the release (it is built from $commit)" >&2
fi
[ -n "$version" ] || version=$(git describe --tags --always "$commit")

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/lanyard-* "$out"/SHA256SUMS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q --no-checkout "$(pwd)" "$work/src"
git -C "$work/src" -c advice.detachedHead=false checkout -q "$commit"
cd "$work/src"
# Go's own knobs are pinned so the machine's environment cannot change the
# bytes (GOFLAGS, GOEXPERIMENT, GOAMD64 and the like).
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOEXPERIMENT= GOAMD64=v1 GOARM64=v8.0
sbom=$work/sbom
go build -trimpath -o "$sbom" ./internal/tools/sbom
for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  bin="$out/lanyard-$os-$arch"
  echo "release.sh: building $bin ($version)" >&2
  GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=true \
    -ldflags "-s -w -buildid= -X main.releaseVersion=$version" \
    -o "$bin" ./cmd/lanyard
  "$sbom" "$bin" > "$bin.cdx.json"
done
(cd "$out" && sha256sum lanyard-* > SHA256SUMS)
cat "$out/SHA256SUMS"
