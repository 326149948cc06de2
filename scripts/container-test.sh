#!/usr/bin/env bash
# Builds Lanyard's container image from the release binary (Dockerfile,
# BINARY=prebuilt: no registry needed), then with podman:
#   - runs 'lanyard demo' in it on a named volume for /data: /readyz 200,
#     the image's HEALTHCHECK passes, it runs as user 65532, and a demo login
#     in Chromium (TestDemoLoginAt) shows the signed-in user;
#   - runs 'lanyard serve' in it on PostgreSQL (LANYARD_TEST_POSTGRES_URL, as
#     the compose file does): /readyz 200;
# and removes the containers, the volume and the image.
#
# Where this machine cannot run containers the script says exactly why; it
# fails with CI=true and exits 0 otherwise. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
name=lanyard-test-$$
image=localhost/lanyard:test-$$
cleanup() {
  podman rm -f "$name-demo" "$name-pg" >/dev/null 2>&1 || true
  podman volume rm -f "$name-data" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$ctx"
}
ctx=$(mktemp -d)
trap cleanup EXIT
cannot() {
  echo "container-test: this machine cannot run containers: $*" >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
  echo "container-test: SKIPPED (not CI)" >&2; exit 0
}
command -v podman >/dev/null || cannot "podman is not installed"

# The build context: the Dockerfile, the rootfs files and the binary.
mkdir -p "$ctx/dist" "$ctx/packaging"
PLATFORMS=linux/amd64 scripts/release.sh -o "$ctx/dist" >/dev/null
cp /etc/ssl/certs/ca-certificates.crt "$ctx/dist/"
cp Dockerfile .dockerignore "$ctx/"
cp -r packaging/container "$ctx/packaging/"
podman build -q --format docker --build-arg BINARY=prebuilt -t "$image" "$ctx" >/dev/null

# podman's defaults (crun, rlimits above this machine's hard limits) fail in
# some virtual machines; runc with the machine's own limits then works.
run=(podman run)
if ! out=$(podman run --rm "$image" version 2>&1); then
  echo "container-test: podman run with its defaults fails: $out" >&2
  run=(podman)
  command -v runc >/dev/null && run+=(--runtime runc)
  run+=(run --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
  out=$("${run[@]}" --rm "$image" version 2>&1) || cannot "${run[*]} fails too: $out"
  echo "container-test: running with: ${run[*]}" >&2
fi
grep -q "revision: $(git rev-parse HEAD)" <<<"$out" || { echo "container-test: the image's binary is not HEAD's: $out" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # URL
  for _ in $(seq 1 150); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$1/readyz")" = 200 ]; then return 0; fi
    sleep 0.2
  done
  echo "container-test: $1/readyz not 200 within 30 s" >&2; return 1
}

# The demo, its data on a named volume.
port=$(free_port)
base=http://localhost:$port
"${run[@]}" -d --name "$name-demo" -v "$name-data:/data" -p "127.0.0.1:$port:8080" "$image" demo --base-url "$base" >/dev/null 2>&1 ||
  cannot "$("${run[@]}" --rm -p "127.0.0.1:$port:8080" "$image" version 2>&1 | tail -1)"
wait_ready "$base" || { podman logs "$name-demo" >&2; exit 1; }
podman healthcheck run "$name-demo" 2>/dev/null || podman exec "$name-demo" /lanyard healthcheck >/dev/null ||
  { echo "container-test: the HEALTHCHECK fails" >&2; exit 1; }
[ "$(podman inspect "$name-demo" --format '{{.Config.User}}')" = 65532:65532 ] || { echo "container-test: not user 65532" >&2; exit 1; }
podman image inspect "$image" | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)[0]["Healthcheck"]["Test"] != ["CMD", "/lanyard", "healthcheck"])' ||
  { echo "container-test: no HEALTHCHECK /lanyard healthcheck in the image" >&2; exit 1; }
tenants=$(podman exec "$name-demo" /lanyard tenant list --data /data)
grep -q '^demo ' <<<"$tenants" || { echo "container-test: no demo tenant in /data" >&2; exit 1; }
LANYARD_DEMO_URL=$base go test -count=1 -run '^TestDemoLoginAt$' -v ./cmd/lanyard 2>&1 | grep -E '^(--- |ok|FAIL|\s+container_test)' >&2
echo "container-test: demo in the image: /readyz 200, HEALTHCHECK passes, user 65532, demo login in Chromium" >&2

# serve on PostgreSQL, as in compose.yaml (the host's network, to reach
# the test's PostgreSQL on loopback).
if [ -n "${LANYARD_TEST_POSTGRES_URL:-}" ]; then
  port=$(free_port)
  "${run[@]}" -d --name "$name-pg" --network host -e "LANYARD_DATABASE=$LANYARD_TEST_POSTGRES_URL" -e "LANYARD_ADDR=127.0.0.1:$port" "$image" >/dev/null
  wait_ready "http://127.0.0.1:$port" || { podman logs "$name-pg" >&2; exit 1; }
  logs=$(podman logs "$name-pg" 2>&1)
  grep -q '"store":"postgres ' <<<"$logs" || { echo "container-test: serve did not use PostgreSQL" >&2; podman logs "$name-pg" >&2; exit 1; }
  echo "container-test: serve in the image on PostgreSQL: /readyz 200" >&2
elif [ "${CI:-}" = true ]; then
  echo "container-test: LANYARD_TEST_POSTGRES_URL not set" >&2; exit 1
fi
