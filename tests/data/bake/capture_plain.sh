#!/usr/bin/env bash
# Re-capture `sid_plain_*` (see README.md): a two-service build on the sid engine whose user set
# COMPOSE_PROGRESS=plain, which replaces the raw stream with plain text, and the build records
# buildx keeps of it (what dockyard falls back to when a stream names no steps).
# Needs the sid stack of scripts/provision-docker-sid.sh; removes the images it tagged.
set -euo pipefail
OUT="$(cd "$(dirname "$0")" && pwd)"
TOKEN="${TOKEN:-$(date +%s)$$}"
PROJ="dyplain${TOKEN}"
WORK="$(mktemp -d)"
set -a; . "${DOCKYARD_SID_ENV:-/opt/dockyard-sid/stack.env}"; set +a
export PATH="$DOCKYARD_SID_BIN:$PATH"
cleanup() { docker image rm -f "$PROJ-backend:cap" "$PROJ-worker:cap" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/backend/app" "$WORK/worker"
cat > "$WORK/docker-compose.yml" <<YML
services:
  backend:
    image: $PROJ-backend:cap
    build: ./backend
  worker:
    image: $PROJ-worker:cap
    build: ./worker
YML
cat > "$WORK/backend/Dockerfile" <<DF
FROM dockyard-local/python:3.11-slim AS deps
WORKDIR /deps
COPY requirements.txt ./
RUN echo "token $TOKEN" && echo deps
FROM dockyard-local/python:3.11-slim AS runtime
WORKDIR /app
COPY --from=deps /deps/requirements.txt ./
COPY app ./app
RUN python3 -c "print('backend $TOKEN')"
DF
printf 'requests==2.31.0\n' > "$WORK/backend/requirements.txt"
printf 'print("hello %s")\n' "$TOKEN" > "$WORK/backend/app/main.py"
printf 'FROM dockyard-local/python:3.11-slim\nCOPY worker.py /w/\nRUN python3 /w/worker.py\n' > "$WORK/worker/Dockerfile"
printf 'print("worker %s")\n' "$TOKEN" > "$WORK/worker/worker.py"

MARK="$(date -u -d '-1 seconds' +%Y-%m-%dT%H:%M:%SZ)"
set +e
(cd "$WORK" && COMPOSE_PROGRESS=plain BUILDKIT_PROGRESS=rawjson docker compose -p "$PROJ" build \
  >"$OUT/sid_plain_two.out" 2>"$OUT/sid_plain_two.err")
echo $? >"$OUT/sid_plain_two.rc"
set -e
docker buildx history ls --filter "startedAt>$MARK" --format json >"$OUT/sid_plain_two.history_ls.out"
python3 - "$OUT" <<'PY'
import json, subprocess, sys
out = sys.argv[1]
for line in open(f"{out}/sid_plain_two.history_ls.out"):
    record = json.loads(line)
    ref = record["ref"].rsplit("/", 1)[-1]
    inspect = subprocess.run(["docker", "buildx", "history", "inspect", ref, "--format", "json"],
                             capture_output=True, check=True).stdout
    labels = {l["Name"]: l["Value"] for l in json.loads(inspect).get("Labels") or []}
    name = labels.get("com.docker.compose.service", record["name"])
    open(f"{out}/sid_plain_two.history_inspect_{name}.out", "wb").write(inspect)
    logs = subprocess.run(["docker", "buildx", "history", "logs", "--progress", "rawjson", ref],
                          capture_output=True, check=True).stderr
    open(f"{out}/sid_plain_two.history_logs_{name}.err", "wb").write(logs)
PY
ls -la "$OUT"/sid_plain_two.*
