#!/usr/bin/env bash
# Re-capture the BuildKit rawjson streams stored beside this script (see README.md).
# Needs a Docker engine and the local stand-in image dockyard-local/python:3.11-slim.
# Creates a throwaway compose project in a temp dir, removes only the images it tagged.
set -euo pipefail
OUT="$(cd "$(dirname "$0")" && pwd)"
TOKEN="${TOKEN:-$(date +%s)$$}"
PROJ="dyraw${TOKEN}"
WORK="$(mktemp -d)"
cleanup() {
  docker image rm -f "$PROJ-backend:cap" "$PROJ-worker:cap" "$PROJ-plain:cap" "$PROJ-plainfail:cap" >/dev/null 2>&1 || true
  # rebuilt images leave untagged ones behind, labelled with the compose project
  docker image ls -q --filter dangling=true --filter "label=com.docker.compose.project=$PROJ" \
    | xargs -r docker image rm >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/backend/app" "$WORK/worker"
cat > "$WORK/docker-compose.yml" <<YML
services:
  backend:
    image: $PROJ-backend:cap
    build:
      context: ./backend
      cache_from:
        - dockyard-nonexistent/never-built:latest
  worker:
    image: $PROJ-worker:cap
    build:
      context: ./worker
YML
cat > "$WORK/backend/Dockerfile" <<DF
FROM dockyard-local/python:3.11-slim AS deps
WORKDIR /deps
COPY requirements.txt ./
RUN echo "token $TOKEN" && for i in 1 2 3; do echo "installing package \$i"; done && echo "a warning on stderr" >&2

FROM dockyard-local/python:3.11-slim AS runtime
WORKDIR /app
COPY --from=deps /deps/requirements.txt ./
COPY app ./app
RUN python3 -c "import pathlib; print('files:', sorted(p.name for p in pathlib.Path('app').iterdir()))"
DF
printf 'requests==2.31.0\n# %s\n' "$TOKEN" > "$WORK/backend/requirements.txt"
printf 'print("hello %s")\n' "$TOKEN" > "$WORK/backend/app/main.py"
cat > "$WORK/worker/Dockerfile" <<DF
FROM dockyard-local/python:3.11-slim
COPY worker.py /w/
RUN python3 /w/worker.py && echo "worker $TOKEN"
DF
printf 'print("worker ready %s")\n' "$TOKEN" > "$WORK/worker/worker.py"

cap() { # name, then the command
  local name="$1"; shift
  set +e
  (cd "$WORK" && BUILDKIT_PROGRESS=rawjson "$@" >"$OUT/$name.out" 2>"$OUT/$name.err")
  echo $? >"$OUT/$name.rc"
  set -e
  [ -s "$OUT/$name.err" ] || rm -f "$OUT/$name.err"
  [ -s "$OUT/$name.out" ] || rm -f "$OUT/$name.out"
  echo "$name: rc=$(cat "$OUT/$name.rc") stdout=$( [ -f "$OUT/$name.out" ] && wc -c <"$OUT/$name.out" || echo 0) stderr=$( [ -f "$OUT/$name.err" ] && wc -c <"$OUT/$name.err" || echo 0)"
}

cap compose_cold docker compose -p "$PROJ" build
cap compose_cached docker compose -p "$PROJ" build
printf 'print("hello, edited %s")\nprint("one more line")\n' "$TOKEN" > "$WORK/backend/app/main.py"
cap compose_code_edit docker compose -p "$PROJ" build

cat >> "$WORK/backend/Dockerfile" <<DF
RUN echo "token $TOKEN" && for i in \$(seq 1 40); do echo "log line \$i"; done && echo "about to fail" >&2 && exit 7
DF
cap compose_fail docker compose -p "$PROJ" build
sed -i '$d' "$WORK/backend/Dockerfile"

cat >> "$WORK/backend/Dockerfile" <<DF
RUN printf 'bad byte: \\377 end\\n' && printf 'euro: \\342\\202\\254 check: \\342\\234\\223\\n' && echo "token $TOKEN"
DF
cap compose_encoding docker compose -p "$PROJ" build
sed -i '$d' "$WORK/backend/Dockerfile"

cap buildx_plain docker buildx build --progress=rawjson -t "$PROJ-plain:cap" "$WORK/worker"

mkdir -p "$WORK/failing"
cat > "$WORK/failing/Dockerfile" <<DF
FROM dockyard-local/python:3.11-slim
RUN echo "token $TOKEN" && echo "partial line without newline" | tr -d '\\n' && echo " ...then the rest" && exit 7
DF
cap buildx_plain_fail docker buildx build --progress=rawjson -t "$PROJ-plainfail:cap" "$WORK/failing"
