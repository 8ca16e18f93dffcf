#!/usr/bin/env bash
# Provision a second, current Docker stack beside the first one (scripts/provision-docker.sh),
# for testing dockyard against what users have today: Debian sid's docker.io (engine 28.5),
# docker-cli (28.5), docker-buildx (0.29) and docker-compose (2.40, which hands builds to bake),
# with the containerd image store. Nothing is installed through apt and the system's apt
# configuration is not changed: the packages are downloaded with apt lists of our own and unpacked
# into $DOCKYARD_SID_ROOT (default /opt/dockyard-sid). Run as root (CI) or with sudo.
# Idempotent: every step checks first and does nothing when its result is already there.
#   0. the first engine: runs scripts/provision-docker.sh (itself idempotent), because the second
#      engine gets its images from the first one and the first must keep working;
#   1. download + unpack the sid packages (when missing), check that their binaries run here;
#   2. <root>/config/cli-plugins/{docker-buildx,docker-compose} -> the sid plugins (DOCKER_CONFIG);
#   3. a bridge of its own ($DOCKYARD_SID_BRIDGE, default dyard-sid0, 172.31.251.1/24), then the sid
#      dockerd in the background (own socket, data-root, exec-root, pidfile, containerd), and a
#      check that the first engine still runs containers and RUN steps;
#   4. wait (bounded) for the sid engine, check it uses the containerd image store;
#   5. copy the stand-in images from the first engine when absent (docker save | docker load);
#   6. write <root>/stack.env (DOCKER_HOST, DOCKER_CONFIG, DOCKYARD_SID_BIN) for clients:
#        set -a; . /opt/dockyard-sid/stack.env; set +a; PATH=$DOCKYARD_SID_BIN:$PATH docker ...
# The Debian mirror is read from this machine's apt sources, never written here.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT=${DOCKYARD_SID_ROOT:-/opt/dockyard-sid}
RUN=${DOCKYARD_SID_RUN:-$ROOT/run}
BRIDGE=${DOCKYARD_SID_BRIDGE:-dyard-sid0}
BRIDGE_CIDR=${DOCKYARD_SID_BRIDGE_CIDR:-172.31.251.1/24}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-90}
PYTHON_IMAGE=${DOCKYARD_PYTHON_IMAGE:-dockyard-local/python:3.11-slim}
POSTGRES_IMAGE=${DOCKYARD_POSTGRES_IMAGE:-dockyard-local/postgres:15}
UV_IMAGE=${DOCKYARD_UV_IMAGE:-dockyard-local/uv:$(sed -n 's/^uv==\([^ ]*\).*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../backend/uv-requirements.txt")}
PACKAGES=(docker.io docker-cli docker-buildx docker-compose)

APT=$ROOT/apt
FS=$ROOT/fs
BIN=$ROOT/bin
CONFIG=$ROOT/config
SOCK=$RUN/docker.sock
LOG=$ROOT/dockerd.log
SID_HOST=unix://$SOCK

# The first engine is the default one, whatever the caller's environment points at.
unset DOCKER_HOST DOCKER_CONTEXT

log() { printf '[provision-sid] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The first http(s) mirror URI of the machine's own Debian sources (deb822 or one-line format).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/debian-mirror.sh"

# The sid docker CLI with the sid plugins, talking to the sid engine.
sid_docker() { DOCKER_CONFIG=$CONFIG "$BIN/docker" -H "$SID_HOST" "$@"; }

first_engine() {
  if docker info >/dev/null 2>&1 && docker image inspect "$PYTHON_IMAGE" "$POSTGRES_IMAGE" "$UV_IMAGE" >/dev/null 2>&1; then
    return
  fi
  log "first engine or its images missing: running scripts/provision-docker.sh"
  bash "$HERE/provision-docker.sh"
}

unpacked() {
  [ -x "$FS/usr/sbin/dockerd" ] && [ -x "$FS/usr/bin/docker" ] \
    && [ -x "$FS/usr/libexec/docker/cli-plugins/docker-buildx" ] \
    && [ -x "$FS/usr/libexec/docker/cli-plugins/docker-compose" ]
}

fetch_packages() {
  if unpacked; then
    log "sid packages already unpacked in $FS"
  else
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    as_root mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$ROOT/debs"
    printf 'deb [signed-by=%s] %s sid main\n' "$keyring" "$(debian_mirror)" | as_root tee "$APT/sources.list" >/dev/null
    # Lists, caches and downloads of our own: the system's apt state and configuration stay as they are.
    local opts=(-q -o "Dir::Etc::sourcelist=$APT/sources.list" -o Dir::Etc::sourceparts=-
                -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o APT::Sandbox::User=root)
    log "downloading ${PACKAGES[*]} from Debian sid (mirror read from apt sources)"
    as_root apt-get "${opts[@]}" update >"$APT/update.log" 2>&1 || {
      log "apt-get update (sid lists) failed:"; tail -n 20 "$APT/update.log" >&2; exit 1; }
    as_root rm -f "$ROOT"/debs/*.deb
    (cd "$ROOT/debs" && as_root apt-get "${opts[@]}" download "${PACKAGES[@]}" >"$APT/download.log" 2>&1) || {
      log "apt-get download failed:"; tail -n 20 "$APT/download.log" >&2; exit 1; }
    as_root rm -rf "$FS"
    as_root mkdir -p "$FS"
    local deb
    for deb in "$ROOT"/debs/*.deb; do
      as_root dpkg-deb -x "$deb" "$FS"
      log "unpacked $(basename "$deb")"
    done
    unpacked || { log "unpacked packages lack dockerd/docker/plugins"; exit 1; }
  fi
  # Only the docker CLI goes into the folder callers put first on PATH.
  as_root mkdir -p "$BIN"
  [ "$(readlink "$BIN/docker" 2>/dev/null)" = "$FS/usr/bin/docker" ] || as_root ln -sfn "$FS/usr/bin/docker" "$BIN/docker"
  # The binaries need glibc >= 2.34 (Debian 12 has 2.36): check that they run here.
  local out
  for out in "$FS/usr/sbin/dockerd --version" "$BIN/docker --version" \
             "$FS/usr/libexec/docker/cli-plugins/docker-buildx version" \
             "$FS/usr/libexec/docker/cli-plugins/docker-compose version"; do
    $out >/dev/null 2>&1 || { log "does not run on this machine: $out"; $out >&2 || true; exit 1; }
  done
}

setup_plugins() {
  as_root mkdir -p "$CONFIG/cli-plugins"
  local p
  for p in docker-buildx docker-compose; do
    if [ "$(readlink "$CONFIG/cli-plugins/$p" 2>/dev/null)" != "$FS/usr/libexec/docker/cli-plugins/$p" ]; then
      as_root ln -sfn "$FS/usr/libexec/docker/cli-plugins/$p" "$CONFIG/cli-plugins/$p"
      log "plugin $CONFIG/cli-plugins/$p -> sid $p"
    fi
  done
  # Any docker CLI (the sid one or the one on PATH) loads plugins from $DOCKER_CONFIG/cli-plugins
  # first: both must report the versions of the unpacked plugins.
  local want_compose want_buildx cli
  want_compose=$("$FS/usr/libexec/docker/cli-plugins/docker-compose" version --short)
  want_buildx=$("$FS/usr/libexec/docker/cli-plugins/docker-buildx" version)
  for cli in "$BIN/docker" $(command -v docker || true); do
    if [ "$(DOCKER_CONFIG=$CONFIG "$cli" compose version --short)" != "$want_compose" ] \
        || [ "$(DOCKER_CONFIG=$CONFIG "$cli" buildx version)" != "$want_buildx" ]; then
      log "$cli with DOCKER_CONFIG=$CONFIG does not load the sid plugins"; exit 1
    fi
  done
  # sid moves on: say so when it no longer carries what this stack was written for.
  case "$want_compose" in 2.40.*) ;; *) log "note: sid's compose is now $want_compose (written for 2.40)" ;; esac
  case "$want_buildx" in *" 0.29."*) ;; *) log "note: sid's buildx is now $want_buildx (written for 0.29)" ;; esac
}

setup_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    local net=${BRIDGE_CIDR%.*}
    if ip route | grep -q "^${net}\."; then
      log "a route for ${net}.0 already exists; set DOCKYARD_SID_BRIDGE_CIDR to a free /24"; exit 1
    fi
    log "creating bridge $BRIDGE ($BRIDGE_CIDR)"
    as_root ip link add "$BRIDGE" type bridge
  fi
  ip -4 addr show dev "$BRIDGE" | grep -q "inet ${BRIDGE_CIDR%/*}/" || as_root ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link show "$BRIDGE" | grep -q ',UP' || as_root ip link set "$BRIDGE" up
}

write_daemon_config() {
  # containerd image store; the sid docker-proxy (28.x speaks another protocol than the first
  # engine's); docker-init: the unpacked package's is a relative link to tini-static, so use the
  # system's (only `docker run --init` needs it).
  # No "default-address-pools": with it, dockerd 28.5 deletes the interface docker0 (hard-coded
  # name, whatever --bridge says) on every start after the first one ("clear stale bridge network"
  # in daemon/daemon_unix.go), which breaks the first engine. Without it, both engines skip
  # subnets that already have an on-link route, so their networks don't collide.
  local init="" json
  [ -x /usr/bin/tini-static ] && init=/usr/bin/tini-static
  json=$(cat <<JSON
{
  "features": {"containerd-snapshotter": true},${init:+
  \"init-path\": \"$init\",}
  "userland-proxy-path": "$FS/usr/sbin/docker-proxy"
}
JSON
)
  if [ "$(cat "$ROOT/daemon.json" 2>/dev/null)" != "$json" ]; then
    printf '%s\n' "$json" | as_root tee "$ROOT/daemon.json" >/dev/null
    log "wrote $ROOT/daemon.json"
  fi
}

# The first engine must keep working: docker0 present, `docker run` and a RUN step (BuildKit
# attaches RUN steps to docker0, the trap of a second dockerd started with --bridge none).
check_first_engine() {
  ip link show docker0 >/dev/null 2>&1 || { log "docker0 is gone: the first engine's RUN steps will fail"; exit 1; }
  docker info >/dev/null 2>&1 || { log "the first engine no longer answers"; exit 1; }
  docker run --rm "$PYTHON_IMAGE" true || { log "docker run on the first engine failed"; exit 1; }
  local dir tag
  dir=$(mktemp -d)
  tag="dyard-sid-probe:$(date +%s)$$"
  printf 'FROM %s\nRUN echo probe %s\n' "$PYTHON_IMAGE" "$tag" >"$dir/Dockerfile"
  if ! docker build -q --no-cache -t "$tag" "$dir" >/dev/null 2>"$dir/err"; then
    log "a RUN step on the first engine failed:"; cat "$dir/err" >&2; rm -rf "$dir"; exit 1
  fi
  docker image rm "$tag" >/dev/null
  rm -rf "$dir"
  # and the probe's build-cache record (its description names the tag), by id only
  local id
  for id in $(docker system df -v --format '{{range .BuildCache}}{{.ID}} {{.Description}}{{println}}{{end}}' \
      | awk -v t="$tag" 'index($0, t) {print $1}'); do
    docker buildx prune -af --filter "id=$id" >/dev/null 2>&1 || true
  done
  log "first engine still runs containers and RUN steps"
}

start_engine() {
  if sid_docker info >/dev/null 2>&1; then
    log "sid engine already answering on $SOCK"
    return
  fi
  setup_bridge
  write_daemon_config
  as_root mkdir -p "$RUN" "$ROOT/data"
  # docker0's address, to put it back should this start delete it anyway (see write_daemon_config).
  local docker0_addr
  docker0_addr=$(ip -4 -o addr show dev docker0 2>/dev/null | awk '{print $4; exit}')
  log "starting the sid dockerd (log: $LOG)"
  # Own socket, data-root (holds its containerd's root), exec-root (its containerd's socket and
  # state, runc state), pidfile and bridge; own containerd namespaces and cgroup parent on top.
  # Never --bridge none: that deletes docker0 and breaks the first engine's RUN steps.
  as_root env PATH="$FS/usr/sbin:$FS/usr/bin:$PATH" setsid "$FS/usr/sbin/dockerd" \
    --host "$SID_HOST" \
    --data-root "$ROOT/data" \
    --exec-root "$RUN/exec" \
    --pidfile "$RUN/docker.pid" \
    --config-file "$ROOT/daemon.json" \
    --bridge "$BRIDGE" \
    --containerd-namespace dockyard-sid \
    --containerd-plugins-namespace dockyard-sid-plugins \
    --cgroup-parent /dockyard-sid \
    >>"$LOG" 2>&1 </dev/null &
  local waited=0
  until sid_docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      log "sid dockerd did not answer within ${WAIT_SECONDS}s; last lines of its log:"
      tail -n 30 "$LOG" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "sid engine ready after ${waited}s: $(sid_docker version --format '{{.Server.Version}}')"
  if [ -n "$docker0_addr" ] && ! ip link show docker0 >/dev/null 2>&1; then
    log "WARNING: starting the sid dockerd deleted docker0; recreating it ($docker0_addr) for the first engine"
    as_root ip link add docker0 type bridge
    as_root ip addr add "$docker0_addr" dev docker0
    as_root ip link set docker0 up
  fi
  check_first_engine
}

check_image_store() {
  local status
  status=$(sid_docker info --format '{{json .DriverStatus}}')
  case "$status" in
    *io.containerd.snapshotter.v1*) ;;
    *) log "sid engine does not use the containerd image store: $status"; exit 1 ;;
  esac
}

load_images() {
  local image
  for image in "$PYTHON_IMAGE" "$POSTGRES_IMAGE" "$UV_IMAGE"; do
    if sid_docker image inspect "$image" >/dev/null 2>&1; then
      log "$image present in the sid engine"
      continue
    fi
    log "copying $image from the first engine (docker save | docker load)"
    docker save "$image" | sid_docker load >/dev/null
  done
}

write_env() {
  local env
  env=$(printf 'DOCKER_HOST=%s\nDOCKER_CONFIG=%s\nDOCKYARD_SID_BIN=%s\n' "$SID_HOST" "$CONFIG" "$BIN")
  if [ "$(cat "$ROOT/stack.env" 2>/dev/null)" != "$env" ]; then
    printf '%s\n' "$env" | as_root tee "$ROOT/stack.env" >/dev/null
    log "wrote $ROOT/stack.env"
  fi
}

main() {
  first_engine
  fetch_packages
  setup_plugins
  start_engine
  check_image_store
  load_images
  write_env
  log "done: sid $(sid_docker version --format 'engine {{.Server.Version}}, CLI {{.Client.Version}}'), buildx $(sid_docker buildx version | awk '{print $2}'), compose $(sid_docker compose version --short), containerd image store; env: $ROOT/stack.env"
}

main "$@"
