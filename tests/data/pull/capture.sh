#!/usr/bin/env bash
# Re-capture the failed pulls stored beside this script (see README.md): builds and `up`s that need
# an image that is not local and cannot be pulled, on both engines, plus a wrong DOCKER_CONTEXT.
# Needs both engines (scripts/provision-docker.sh, scripts/provision-docker-sid.sh), the stand-in
# image dockyard-local/python:3.11-slim in both, and `docker-registry` (Debian's distribution
# package) for the "not found" and "unauthorized" cases: two throwaway registries on loopback
# ports, started here and stopped by their pids at the end.
#   tests/data/pull/capture.sh
set -euo pipefail
OUT="$(cd "$(dirname "$0")" && pwd)"
SID_ENV="${DOCKYARD_SID_ENV:-/opt/dockyard-sid/stack.env}"
WORK="$(mktemp -d)"
OPEN_PORT="${OPEN_PORT:-5871}"   # a registry without auth: "not found"
AUTH_PORT="${AUTH_PORT:-5872}"   # a registry with htpasswd auth, no login: "unauthorized"

SID_HOST=$(sed -n 's/^DOCKER_HOST=//p' "$SID_ENV")
SID_CONFIG=$(sed -n 's/^DOCKER_CONFIG=//p' "$SID_ENV")
SID_BIN=$(sed -n 's/^DOCKYARD_SID_BIN=//p' "$SID_ENV")
CLEAN_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$SID_BIN" | paste -sd: -)
SID=(env -u BUILDKIT_PROGRESS -u DOCKER_CONTEXT "DOCKER_HOST=$SID_HOST" "DOCKER_CONFIG=$SID_CONFIG" "PATH=$SID_BIN:$CLEAN_PATH")
CLASSIC=(env -u BUILDKIT_PROGRESS -u DOCKER_CONTEXT -u DOCKER_HOST -u DOCKER_CONFIG "PATH=$CLEAN_PATH")
in_env() { # sid|classic, then the command
  if [ "$1" = sid ]; then shift; "${SID[@]}" "$@"; else shift; "${CLASSIC[@]}" "$@"; fi
}

PIDS=()
cleanup() {
  set +e
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# -- two registries ------------------------------------------------------------------------------
python3 -W ignore -c 'import crypt; print("dyuser:" + crypt.crypt("dypass", crypt.mksalt(crypt.METHOD_BLOWFISH)))' >"$WORK/htpasswd"
registry() { # name port [auth]
  mkdir -p "$WORK/$1-data"
  {
    printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$WORK/$1-data" "$2"
    [ -z "${3:-}" ] || printf 'auth:\n  htpasswd:\n    realm: dockyard-capture\n    path: %s\n' "$WORK/htpasswd"
  } >"$WORK/$1.yml"
  docker-registry serve "$WORK/$1.yml" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
registry open "$OPEN_PORT"
registry auth "$AUTH_PORT" auth
sleep 1

# -- the projects --------------------------------------------------------------------------------
# build_* : service `app` built from a Dockerfile; up_* : service `db` with only `image:`.
project_build() { # name, then the Dockerfile's lines
  local dir="$WORK/$1"; shift
  mkdir -p "$dir"
  printf '%s\n' "$@" >"$dir/Dockerfile"
  printf 'services:\n  app:\n    build:\n      context: .\n    image: dypull-%s/app:cap\n' "$(basename "$dir")" >"$dir/compose.yml"
}
project_up() { # name image
  mkdir -p "$WORK/$1"
  printf 'services:\n  db:\n    image: %s\n' "$2" >"$WORK/$1/compose.yml"
}
LOCAL=dockyard-local/python:3.11-slim
project_build build_from 'ARG PYTHON_IMAGE=python:3.11-slim' 'FROM ${PYTHON_IMAGE}' 'RUN true'
project_build build_syntax '# syntax=docker/dockerfile:1' "FROM $LOCAL" 'RUN true'
project_build build_copy_from "FROM $LOCAL" 'COPY --from=busybox:1.36 /bin/busybox /busybox'
project_build build_mount_from "FROM $LOCAL" 'RUN --mount=from=busybox:1.36,target=/bb ls /bb'
project_build build_not_found "FROM 127.0.0.1:$OPEN_PORT/dypull/nosuch:1" 'RUN true'
project_build build_unauthorized "FROM 127.0.0.1:$AUTH_PORT/dypull/nosuch:1" 'RUN true'
project_build build_pull_local "FROM $LOCAL" 'RUN true'
project_build build_two_bases 'FROM busybox:1.36 AS tools' 'FROM python:3.11-slim' 'COPY --from=tools /bin/busybox /busybox'
project_up up_image postgres:16
project_up up_local_name dypull-nosuch/never-built:v1
project_up up_not_found "127.0.0.1:$OPEN_PORT/dypull/nosuch:1"
project_up up_unauthorized "127.0.0.1:$AUTH_PORT/dypull/nosuch:1"

cap() { # engine capture-name project-folder, then the command (run in that folder)
  local engine="$1" name="${1}_$2" dir="$WORK/$3"; shift 3
  set +e
  (cd "$dir" && in_env "$engine" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err")
  echo $? >"$OUT/$name.rc"
  set -e
  [ -s "$OUT/$name.out" ] || rm -f "$OUT/$name.out"
  echo "$name: rc=$(cat "$OUT/$name.rc")"
}

rm -f "$OUT"/classic_* "$OUT"/sid_*
for engine in classic sid; do
  for name in build_from build_syntax build_copy_from build_mount_from build_not_found build_unauthorized build_two_bases; do
    cap "$engine" "$name" "$name" env BUILDKIT_PROGRESS=rawjson docker compose -p "dypull-$name" build
  done
  # inv bench's build command: the stream and the error both on stderr
  cap "$engine" buildx_from build_from docker buildx build --progress=rawjson --load -t dypull-buildx_from:cap .
  # --pull asks the registry even for a local base image
  cap "$engine" build_pull_local build_pull_local env BUILDKIT_PROGRESS=rawjson docker compose -p dypull-build_pull_local build --pull
  for name in up_image up_local_name up_not_found up_unauthorized; do
    cap "$engine" "$name" "$name" docker compose -p "dypull-$name" up --detach --wait --wait-timeout 30 --no-build
  done
done
# A context that does not exist (DOCKER_HOST unset: it would win over DOCKER_CONTEXT).
cap classic context_missing up_image env DOCKER_CONTEXT=dypull-nosuch docker compose -p dypull-up_image ps
cap sid context_missing up_image env -u DOCKER_HOST DOCKER_CONTEXT=dypull-nosuch docker compose -p dypull-up_image ps
