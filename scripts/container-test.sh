#!/usr/bin/env bash
# `make container-test`: builds idflow's image and a PostgreSQL image with podman, from a
# base made from Debian's packages (no registry is reachable here), starts compose.yaml
# (PostgreSQL and two idflow servers, host networking on 127.0.0.1 only), signs in on both
# servers (a session made on one is valid on the other), runs a flow, and tears it all
# down. Needs root for apt and /etc/containers; takes a few minutes (the README says).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
started=$(date +%s)

if ! command -v podman >/dev/null || ! command -v mmdebstrap >/dev/null; then
  say "Installing podman, buildah, runc and mmdebstrap (Debian)"
  apt-get install -y podman buildah runc mmdebstrap >/dev/null
fi
# Debian's podman-compose (1.0.3) cannot run a service on the host's network; PyPI's can.
venv=target/compose-venv
if [ ! -f "$venv/.installed" ] || [ scripts/container-test-requirements.txt -nt "$venv/.installed" ]; then
  say "Installing podman-compose (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/container-test-requirements.txt
  touch "$venv/.installed"
fi
conf=/etc/containers/containers.conf
if ! grep -q '^# idflow container-test' "$conf" 2>/dev/null; then
  say "Setting podman's runtime (runc) and file limits in $conf"
  mkdir -p /etc/containers
  {
    echo "# idflow container-test: crun refuses this machine's cgroups; hard limits cannot be raised"
    echo "[engine]"
    echo 'runtime = "runc"'
    echo "[containers]"
    echo "default_ulimits = [\"nofile=$(ulimit -Hn):$(ulimit -Hn)\", \"nproc=32768:32768\"]"
  } >> "$conf"
fi

BASE=localhost/debian:bookworm
if ! podman image exists "$BASE"; then
  say "Making the base image $BASE from Debian's packages (about a minute)"
  work=$(mktemp -d)
  mmdebstrap --variant=minbase --include=ca-certificates \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/{doc,man,locale}/*' \
    bookworm "$work/rootfs.tar" http://deb.debian.org/debian >/dev/null
  podman import "$work/rootfs.tar" "$BASE" >/dev/null
  rm -rf "$work"
fi

[ -x target/server-release/idflow ] && [ -f target/site/pkg/idflow.wasm ] || {
  echo "build the release first: make build-release" >&2
  exit 1
}
say "Building the images"
podman build --quiet --format docker --build-arg BASE="$BASE" -t localhost/idflow:test . >/dev/null
podman build --quiet --format docker --build-arg BASE="$BASE" -t localhost/idflow-postgres:test \
  -f container/postgres.Dockerfile . >/dev/null
size=$(podman image inspect localhost/idflow:test --format '{{.Size}}')

export IDFLOW_IMAGE=localhost/idflow:test POSTGRES_IMAGE=localhost/idflow-postgres:test
export IDFLOW_POSTGRES_PORT=5499 IDFLOW_1_LISTEN=127.0.0.1:3491 IDFLOW_2_LISTEN=127.0.0.1:3492
export IDFLOW_PUBLIC_URL=http://127.0.0.1:3491
export IDFLOW_SECRET_KEY=$(openssl rand -hex 32)
export IDFLOW_ADMIN_PASSWORD='a long container password'
project=idflow-container-test
compose() { "$venv/bin/podman-compose" -p "$project" -f compose.yaml "$@"; }
cleanup() {
  compose down -v >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  for volume in postgres idflow-1 idflow-2; do
    podman volume rm -f "${project}_${volume}" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
cleanup

say "Starting PostgreSQL and two idflow servers"
compose up -d >/dev/null 2>&1
ready() { curl --fail --silent --max-time 2 "http://$1/readyz" >/dev/null; }
for server in "$IDFLOW_1_LISTEN" "$IDFLOW_2_LISTEN"; do
  for _ in $(seq 1 60); do ready "$server" && break; sleep 1; done
  ready "$server" || { compose logs >&2 || true; echo "$server never became ready" >&2; exit 1; }
done
for container in "${project}_idflow-1_1" "${project}_idflow-2_1"; do
  podman healthcheck run "$container" >/dev/null || { echo "$container is not healthy" >&2; exit 1; }
done

jar=$(mktemp)
say "Signing in on server 1; the session works on server 2"
status=$(curl --silent --output /dev/null --write-out '%{http_code}' --cookie-jar "$jar" \
  --data-urlencode 'email=admin@example.com' --data-urlencode "password=$IDFLOW_ADMIN_PASSWORD" \
  --data-urlencode 'next=/' "http://$IDFLOW_1_LISTEN/auth/sign-in")
[ "$status" = 303 ] || { echo "sign-in answered $status" >&2; exit 1; }
for server in "$IDFLOW_1_LISTEN" "$IDFLOW_2_LISTEN"; do
  curl --silent --fail --cookie "$jar" "http://$server/flows" | grep -q 'admin@example.com' \
    || { echo "the session does not open /flows on $server" >&2; exit 1; }
done
say "Signing in on server 2 as well"
jar2=$(mktemp)
status=$(curl --silent --output /dev/null --write-out '%{http_code}' --cookie-jar "$jar2" \
  --data-urlencode 'email=admin@example.com' --data-urlencode "password=$IDFLOW_ADMIN_PASSWORD" \
  --data-urlencode 'next=/' "http://$IDFLOW_2_LISTEN/auth/sign-in")
[ "$status" = 303 ] || { echo "sign-in on server 2 answered $status" >&2; exit 1; }

say "Running a flow"
flow='{"name":"Container check","trigger":{"kind":"trigger.manual"},"cards":[{"id":1,"kind":"text.compose","inputs":{"template":{"type":"template","template":"ran in a container"}}},{"id":2,"kind":"flow.return","inputs":{"output":{"type":"mapping","from":{"card":1},"path":"output"}}}]}'
curl --silent --fail --output /dev/null --cookie "$jar" --data-urlencode "definition=$flow" \
  "http://$IDFLOW_1_LISTEN/flows/import"
id=$(curl --silent --fail --cookie "$jar" "http://$IDFLOW_1_LISTEN/flows" \
  | grep -oE '/flows/[0-9a-f-]{36}/edit' | head -n1 | cut -d/ -f3)
[ -n "$id" ] || { echo "the imported flow is not listed" >&2; exit 1; }
curl --silent --fail --output /dev/null --cookie "$jar" --data 'enabled=true' "http://$IDFLOW_1_LISTEN/flows/$id/enabled"
execution=$(curl --silent --output /dev/null --write-out '%{redirect_url}' --cookie "$jar2" \
  --data 'input=' "http://$IDFLOW_2_LISTEN/flows/$id/run" | grep -oE '/executions/[0-9a-f-]{36}')
[ -n "$execution" ] || { echo "running the flow on server 2 did not start an execution" >&2; exit 1; }
for _ in $(seq 1 30); do
  page=$(curl --silent --cookie "$jar" "http://$IDFLOW_1_LISTEN$execution")
  grep -q 'ran in a container' <<<"$page" && break
  sleep 1
done
grep -q 'ran in a container' <<<"$page" || { echo "the execution did not finish: $execution" >&2; exit 1; }
rm -f "$jar" "$jar2"

say "Stopping (SIGTERM)"
stop_started=$(date +%s)
compose stop >/dev/null 2>&1
stopped_in=$(( $(date +%s) - stop_started ))
echo "container-test passed in $(( $(date +%s) - started )) s; idflow image $(( size / 1000000 )) MB; stopped in ${stopped_in} s"
