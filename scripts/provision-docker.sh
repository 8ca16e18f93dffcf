#!/usr/bin/env bash
# Provision a bare Debian/Ubuntu-like Linux box for dockyard's real-engine tests (CI, or by hand).
# Idempotent: every step checks first and does nothing when its result is already there.
#   1. Docker engine + buildx + compose (Debian 13 packages on Debian 12) if `dockerd` is missing;
#   2. start dockerd in the background if `docker info` fails, and wait for it (bounded);
#   3. build two local stand-in images when absent, because no registry is reachable here:
#        $DOCKYARD_PYTHON_IMAGE   (default dockyard-local/python:3.11-slim)  Python 3.11, venv, pip
#        $DOCKYARD_POSTGRES_IMAGE (default dockyard-local/postgres:15)       PostgreSQL, pg_isready
#   4. the stand-in of uv's image (dockyard-local/uv:<pinned>), from the hash-checked uv wheel
#      (scripts/make_uv_image.py; pip downloads the wheel from the configured index).
#   5. Debian's docker-registry (distribution 2.8) for the team-cache tests, which start their own
#      registry on 127.0.0.1 (the package's own service is not used).
# The Debian mirror is read from this machine's apt sources, never written here.
set -euo pipefail

PYTHON_IMAGE=${DOCKYARD_PYTHON_IMAGE:-dockyard-local/python:3.11-slim}
POSTGRES_IMAGE=${DOCKYARD_POSTGRES_IMAGE:-dockyard-local/postgres:15}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-90}
WORK=${DOCKYARD_PROVISION_DIR:-/var/tmp/dockyard-provision}
CA_BUNDLE=${DOCKYARD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

log() { printf '[provision] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The first http(s) mirror URI of the machine's own Debian sources (deb822 or one-line format).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/debian-mirror.sh"

install_engine() {
  if command -v dockerd >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 \
      && docker buildx version >/dev/null 2>&1; then
    return
  fi
  local mirror keyring
  mirror=$(debian_mirror)
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  log "installing docker.io, docker-buildx, docker-compose from Debian 13 (mirror read from apt sources)"
  as_root tee /etc/apt/sources.list.d/dockyard-trixie.sources >/dev/null <<SRC
Types: deb
URIs: ${mirror}
Suites: trixie
Components: main
Signed-By: ${keyring}
SRC
  # Keep every other package on Debian 12: only what we ask for with -t trixie comes from 13.
  as_root tee /etc/apt/preferences.d/dockyard-trixie >/dev/null <<'PREF'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PREF
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    -t trixie docker.io docker-buildx docker-compose >/dev/null
}

start_engine() {
  if docker info >/dev/null 2>&1; then
    log "docker engine already answering"
    return
  fi
  log "starting dockerd (log: $DOCKERD_LOG)"
  as_root mkdir -p "$(dirname "$DOCKERD_LOG")"
  # containerd is started by dockerd itself when no system containerd runs.
  as_root setsid dockerd >"$DOCKERD_LOG" 2>&1 < /dev/null &
  local waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      log "dockerd did not answer within ${WAIT_SECONDS}s; last lines of its log:"
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "docker engine ready after ${waited}s: $(docker version --format '{{.Server.Version}}')"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# debootstrap a minbase bookworm rootfs with extra packages into $1.
bootstrap_rootfs() {
  local root=$1 include=$2
  command -v debootstrap >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  as_root rm -rf "$root"
  as_root mkdir -p "$root"
  as_root debootstrap --variant=minbase --include="$include" bookworm "$root" "$(debian_mirror)" >"$root.log" 2>&1 || {
    log "debootstrap failed; tail of $root.log:"; tail -n 30 "$root.log" >&2; exit 1; }
  # This network intercepts TLS: builds inside the image must trust the host's CA bundle.
  as_root cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  as_root rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
}

build_python_image() {
  image_exists "$PYTHON_IMAGE" && { log "$PYTHON_IMAGE present"; return; }
  local root=$WORK/python-rootfs
  log "building $PYTHON_IMAGE (debootstrap, about a minute)"
  bootstrap_rootfs "$root" python3,python3-venv,python3-pip,ca-certificates
  # Behave like python:3.11-slim: `python`/`pip` on PATH, no PEP 668 marker.
  as_root rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  as_root ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
  as_root ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
  as_root tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["python3"]' - "$PYTHON_IMAGE" >/dev/null
  as_root rm -rf "$root"
}

build_postgres_image() {
  image_exists "$POSTGRES_IMAGE" && { log "$POSTGRES_IMAGE present"; return; }
  local root=$WORK/postgres-rootfs
  log "building $POSTGRES_IMAGE (debootstrap, about a minute)"
  bootstrap_rootfs "$root" postgresql,postgresql-client,ca-certificates
  local bindir
  bindir=$(cd "$root" && ls -d usr/lib/postgresql/*/bin | head -n 1)
  as_root tee "$root/usr/local/bin/docker-entrypoint.sh" >/dev/null <<'ENTRY'
#!/bin/sh
# Stand-in for the official postgres image's entrypoint: POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB and PGDATA mean the same; first start initialises, every start execs postgres.
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
if [ "${1:-postgres}" != "postgres" ]; then exec "$@"; fi
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: POSTGRES_PASSWORD is not set" >&2; exit 1
  fi
  pwfile=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"; chown postgres "$pwfile"
  as_pg initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    PGPASSWORD=$POSTGRES_PASSWORD as_pg psql -v ON_ERROR_STOP=1 -h /var/run/postgresql \
      -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
    as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "database initialised in $PGDATA"
fi
shift || true
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" "$@"
ENTRY
  as_root chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  as_root tar -C "$root" -c . | docker import \
    -c "ENV PATH=/$bindir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'EXPOSE 5432' \
    -c 'STOPSIGNAL SIGINT' \
    -c 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' - "$POSTGRES_IMAGE" >/dev/null
  as_root rm -rf "$root"
}

build_uv_image() {
  "${PYTHON:-python3}" "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/make_uv_image.py" >&2
}

install_registry() {
  command -v docker-registry >/dev/null 2>&1 && return
  log "installing docker-registry (Debian's distribution registry; the tests start it themselves)"
  as_root apt-get update -qq
  # The tests never use the package's own service (it is not started without an init system here).
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    docker-registry >/dev/null
  command -v docker-registry >/dev/null 2>&1 || { log "docker-registry not installed"; exit 1; }
}

main() {
  install_engine
  start_engine
  mkdir -p "$WORK"
  build_python_image
  build_postgres_image
  build_uv_image
  install_registry
  log "done: $(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short 2>/dev/null || echo 'compose ?'), images $PYTHON_IMAGE $POSTGRES_IMAGE"
}

main "$@"
