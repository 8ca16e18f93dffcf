#!/usr/bin/env bash
# Re-capture what dockyard reads to know the Docker stack (see README.md): run from this folder,
# once for the first engine (no arguments) and once for the sid stack (`sid`).
set -euo pipefail
name=${1:-classic}
if [ "$name" = sid ]; then
  set -a; . /opt/dockyard-sid/stack.env; set +a
  export PATH=$DOCKYARD_SID_BIN:$PATH
fi
docker version --format '{{json .}}' > "$name.version.json"
docker info --format '{{json .}}' > "$name.info.json"
docker buildx version > "$name.buildx.txt"
docker compose version --short > "$name.compose.txt"
