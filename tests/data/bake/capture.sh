#!/usr/bin/env bash
# Re-capture the build streams stored beside this script (see README.md): Compose 2.40, which hands
# `compose build` to `buildx bake`, and buildx 0.29 on the second ("sid") engine of
# scripts/provision-docker-sid.sh (containerd image store), plus one-service captures of the first
# engine (Compose 2.26, classic store) for comparison.
# Needs both engines provisioned (scripts/provision-docker.sh, scripts/provision-docker-sid.sh) and
# the stand-in image dockyard-local/python:3.11-slim in both.
# Creates throwaway compose projects in a temp dir; removes only what it made: images labelled with
# its per-run token and build-cache records of its own steps. Its build-history records stay (the
# engine expires them): `docker buildx history rm` of a record whose provenance was read (every
# compose 2.40 / bake --metadata-file build) makes the next `history ls` crash dockerd 28.5.2.
#   tests/data/bake/capture.sh            # both engines
#   tests/data/bake/capture.sh sid        # only the sid engine (or: classic)
set -euo pipefail
OUT="$(cd "$(dirname "$0")" && pwd)"
TOKEN="${TOKEN:-$(date +%s)$$}"
SID_ENV="${DOCKYARD_SID_ENV:-/opt/dockyard-sid/stack.env}"
WHICH="${1:-all}"
WORK="$(mktemp -d)"
START="$(date -u -d '-2 seconds' +%Y-%m-%dT%H:%M:%SZ)"

# Client environments: the sid stack from its stack.env, the first engine with the plain defaults.
SID_HOST=$(sed -n 's/^DOCKER_HOST=//p' "$SID_ENV")
SID_CONFIG=$(sed -n 's/^DOCKER_CONFIG=//p' "$SID_ENV")
SID_BIN=$(sed -n 's/^DOCKYARD_SID_BIN=//p' "$SID_ENV")
CLEAN_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$SID_BIN" | paste -sd: -)
SID=(env -u BUILDKIT_PROGRESS -u DOCKER_CONTEXT "DOCKER_HOST=$SID_HOST" "DOCKER_CONFIG=$SID_CONFIG" "PATH=$SID_BIN:$CLEAN_PATH")
CLASSIC=(env -u BUILDKIT_PROGRESS -u DOCKER_CONTEXT -u DOCKER_HOST -u DOCKER_CONFIG "PATH=$CLEAN_PATH")
in_env() { # SID|CLASSIC, then the command
  if [ "$1" = SID ]; then shift; "${SID[@]}" "$@"; else shift; "${CLASSIC[@]}" "$@"; fi
}

# Build-cache record ids present before this run, per engine.
in_env SID docker system df -v --format '{{json .BuildCache}}' >"$WORK/cache-before-SID.json"
in_env CLASSIC docker system df -v --format '{{json .BuildCache}}' >"$WORK/cache-before-CLASSIC.json"

# Prune (by id) the build-cache records this run made: new since the start and either naming the
# token, or named like a vertex of this run's captures, or stacked on such a record.
prune_own_cache() { # engine-env-name, files with streams
  local engine="$1"; shift
  local ids
  for _ in 1 2 3 4 5 6; do
    in_env "$engine" docker system df -v --format '{{json .BuildCache}}' >"$WORK/cache-now.json"
    ids=$(python3 - "$WORK/cache-before-$engine.json" "$WORK/cache-now.json" "$TOKEN" "$@" <<'PY'
import json, re, sys
before = {r["ID"] for r in json.load(open(sys.argv[1])) or []}
now = json.load(open(sys.argv[2])) or []
token = sys.argv[3]
names = set()
dec = json.JSONDecoder()
for path in sys.argv[4:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    i = 0
    while True:
        j = text.find("{", i)
        if j < 0:
            break
        try:
            obj, i = dec.raw_decode(text, j)
        except ValueError:
            i = j + 1
            continue
        for v in obj.get("vertexes", []) if isinstance(obj, dict) else []:
            n = v.get("name", "")
            names.add(n)
            # drop a bake/compose target prefix: "[backend deps 1/3] X" -> "[deps 1/3] X"
            names.add(re.sub(r"^\[[^ \]]+ ", "[", n))
new = [r for r in now if r["ID"] not in before]
mine = {r["ID"] for r in new if token in r.get("Description", "") or r.get("Description") in names}
changed = True
while changed:
    changed = False
    for r in new:
        if r["ID"] not in mine and r.get("Parent") in mine:
            mine.add(r["ID"]); changed = True
parents = {r.get("Parent") for r in now}
# leaves first: a record that still has children is not prunable yet
print(" ".join(r["ID"] for r in new if r["ID"] in mine and r["ID"] not in parents and r["InUse"] != "true"))
PY
)
    [ -n "$ids" ] || break
    local id
    # -a: with the containerd store most records are "shared" and a plain prune keeps them
    for id in $ids; do in_env "$engine" docker buildx prune -af --filter "id=$id" >/dev/null 2>&1 || true; done
  done
}

cleanup() {
  set +e
  local engine
  for engine in SID CLASSIC; do
    local ids
    ids=$(in_env "$engine" docker image ls -aq --filter "label=dockyard.capture=$TOKEN" | sort -u)
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || in_env "$engine" docker image rm -f $ids >/dev/null 2>&1
  done
  [ "$WHICH" = classic ] || prune_own_cache SID "$OUT"/sid_*.out "$OUT"/sid_*.err
  [ "$WHICH" = sid ] || prune_own_cache CLASSIC "$OUT"/classic_*.out "$OUT"/classic_*.err
  rm -rf "$WORK"
}
trap cleanup EXIT

# A one-service project: service `api` (context ./backend, 2-stage Dockerfile).
make_one() { # dir project
  local dir="$1" proj="$2"
  mkdir -p "$dir/backend/app"
  cat > "$dir/docker-compose.yml" <<YML
services:
  api:
    image: $proj-api:cap
    build:
      context: ./backend
      labels:
        dockyard.capture: "$TOKEN"
YML
  backend_files "$dir"
}

# A two-service project like tests/data/rawjson: backend (2 stages, a cache_from that exists
# nowhere: a registry on a closed loopback port) and worker (1 stage).
make_two() { # dir project
  local dir="$1" proj="$2"
  mkdir -p "$dir/backend/app" "$dir/worker"
  cat > "$dir/docker-compose.yml" <<YML
services:
  backend:
    image: $proj-backend:cap
    build:
      context: ./backend
      cache_from:
        - localhost:5999/dockyard-nonexistent/never-built:latest
      labels:
        dockyard.capture: "$TOKEN"
  worker:
    image: $proj-worker:cap
    build:
      context: ./worker
      labels:
        dockyard.capture: "$TOKEN"
YML
  backend_files "$dir"
  cat > "$dir/worker/Dockerfile" <<DF
FROM dockyard-local/python:3.11-slim
COPY worker.py /w/
RUN python3 /w/worker.py && echo "worker $TOKEN $proj"
DF
  printf 'print("worker ready %s %s")\n' "$TOKEN" "$proj" > "$dir/worker/worker.py"
}

backend_files() {
  local dir="$1"
  cat > "$dir/backend/Dockerfile" <<DF
FROM dockyard-local/python:3.11-slim AS deps
WORKDIR /deps
COPY requirements.txt ./
RUN echo "token $TOKEN $(basename "$dir")" && for i in 1 2 3; do echo "installing package \$i"; done && echo "a warning on stderr" >&2

FROM dockyard-local/python:3.11-slim AS runtime
WORKDIR /app
COPY --from=deps /deps/requirements.txt ./
COPY app ./app
RUN python3 -c "import pathlib; print('files:', sorted(p.name for p in pathlib.Path('app').iterdir()))"
DF
  # token and folder in every file: no project reuses another's cache ("cold" means cold)
  printf 'requests==2.31.0\n# %s %s\n' "$TOKEN" "$(basename "$dir")" > "$dir/backend/requirements.txt"
  printf 'print("hello %s %s")\n' "$TOKEN" "$(basename "$dir")" > "$dir/backend/app/main.py"
}

report() {
  local name="$1"
  [ -s "$OUT/$name.err" ] || rm -f "$OUT/$name.err"
  [ -s "$OUT/$name.out" ] || rm -f "$OUT/$name.out"
  echo "$name: rc=$(cat "$OUT/$name.rc") stdout=$( [ -f "$OUT/$name.out" ] && wc -c <"$OUT/$name.out" || echo 0) stderr=$( [ -f "$OUT/$name.err" ] && wc -c <"$OUT/$name.err" || echo 0)"
}

cap() { # name dir engine-env-name, then the command
  local name="$1" dir="$2" engine="$3"; shift 3
  set +e
  (cd "$dir" && in_env "$engine" BUILDKIT_PROGRESS=rawjson "$@" >"$OUT/$name.out" 2>"$OUT/$name.err")
  echo $? >"$OUT/$name.rc"
  set -e
  report "$name"
}

# Like cap, but without BUILDKIT_PROGRESS in the environment.
cap_noenv() {
  local name="$1" dir="$2" engine="$3"; shift 3
  set +e
  (cd "$dir" && in_env "$engine" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err")
  echo $? >"$OUT/$name.rc"
  set -e
  report "$name"
}

# Start the command in a session of its own, SIGINT after $4 seconds to the whole process group
# (what Ctrl-C in a terminal does: docker CLI, compose plugin, buildx) or to the docker CLI only
# (what a wrapper's Popen.send_signal does); rc as a shell reports it (128+2 when killed by SIGINT).
cap_interrupt() { # name dir engine-env-name group|cli seconds, then the command
  local name="$1" dir="$2" engine="$3" target="$4" after="$5"; shift 5
  set +e
  (cd "$dir" && in_env "$engine" BUILDKIT_PROGRESS=rawjson python3 - "$OUT/$name" "$target" "$after" "$@" <<'PY'
import os, signal, subprocess, sys, time
base, target, after, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
with open(base + ".out", "wb") as out, open(base + ".err", "wb") as err:
    p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    time.sleep(after)
    if target == "group":
        os.killpg(p.pid, signal.SIGINT)
    else:
        p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
rc = 128 - rc if rc < 0 else rc
open(base + ".rc", "w").write(f"{rc}\n")
PY
  )
  set -e
  report "$name"
  sleep 5 # let the engine cancel the interrupted build before the next capture
}

# History records of the next build only: remember the second, wait for the next one.
mark() { MARK="$(date -u +%Y-%m-%dT%H:%M:%SZ)"; sleep 1.1; }
# The build-history records since `mark` (sid engine), each inspected; with "logs" also each
# record's log replayed as rawjson (`history logs --progress rawjson`).
cap_history() { # name [logs]
  local name="$1" logs="${2:-}" ref hname
  cap_noenv "$name.history_ls" "$WORK" SID docker buildx history ls --filter "startedAt>$MARK" --format json
  [ -f "$OUT/$name.history_ls.out" ] || return 0
  while read -r ref hname; do
    cap_noenv "$name.history_inspect_$hname" "$WORK" SID docker buildx history inspect "$ref" --format json
    [ -z "$logs" ] || cap_noenv "$name.history_logs_$hname" "$WORK" SID docker buildx history logs --progress rawjson "$ref"
  done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        print(r["ref"].rsplit("/", 1)[-1], r["name"])' "$OUT/$name.history_ls.out")
}

capture_one() { # prefix engine-env-name
  local pfx="$1" engine="$2" proj="dybake1${1%%_*}${TOKEN}" dir="$WORK/$1"
  make_one "$dir" "$proj"
  cap "${pfx}_cold" "$dir" "$engine" docker compose -p "$proj" build
  cap "${pfx}_cached" "$dir" "$engine" docker compose -p "$proj" build
  printf 'print("hello, edited %s %s")\nprint("one more line")\n' "$TOKEN" "$pfx" > "$dir/backend/app/main.py"
  cap "${pfx}_code_edit" "$dir" "$engine" docker compose -p "$proj" build
  cat >> "$dir/backend/Dockerfile" <<DF
RUN echo "token $TOKEN" && for i in \$(seq 1 40); do echo "log line \$i"; done && echo "about to fail" >&2 && exit 7
DF
  if [ "$engine" = SID ]; then mark; fi
  cap "${pfx}_fail" "$dir" "$engine" docker compose -p "$proj" build
  if [ "$engine" = SID ]; then cap_history "${pfx}_fail"; fi
  sed -i '$d' "$dir/backend/Dockerfile"
  cat >> "$dir/backend/Dockerfile" <<DF
RUN echo "token $TOKEN interrupt" && echo "sleeping" && sleep 30 && echo "slept"
DF
  if [ "$engine" = SID ]; then mark; fi
  cap_interrupt "${pfx}_interrupt" "$dir" "$engine" group 3 docker compose -p "$proj" build
  if [ "$engine" = SID ]; then cap_history "${pfx}_interrupt"; fi
  sed -i '$d' "$dir/backend/Dockerfile"
  cat >> "$dir/backend/Dockerfile" <<DF
RUN echo "token $TOKEN interrupt-cli" && echo "sleeping" && sleep 30 && echo "slept"
DF
  cap_interrupt "${pfx}_interrupt_cli" "$dir" "$engine" cli 3 docker compose -p "$proj" build
  sed -i '$d' "$dir/backend/Dockerfile"
}

capture_sid() {
  cap_noenv sid_versions "$WORK" SID sh -c 'docker version --format "client {{.Client.Version}} server {{.Server.Version}} api {{.Server.APIVersion}}"; docker buildx version; docker compose version; docker info --format "driver {{.Driver}} {{json .DriverStatus}}"'
  capture_one sid_one SID
  # compose's own --progress json (Compose 2.40 turns it into rawjson for builds), no BUILDKIT_PROGRESS
  local proj="dybake1sid${TOKEN}" dir="$WORK/sid_one"
  cap_noenv sid_one_progress_json "$dir" SID docker compose -p "$proj" --progress json build

  proj="dybake2sid${TOKEN}" dir="$WORK/sid_two"
  make_two "$dir" "$proj"
  cap sid_two_print "$dir" SID docker compose -p "$proj" build --print
  mark
  cap sid_two_cold "$dir" SID docker compose -p "$proj" build
  cap_history sid_two_cold logs
  printf 'print("hello, edited %s sid_two")\nprint("one more line")\n' "$TOKEN" > "$dir/backend/app/main.py"
  cap sid_two_code_edit "$dir" SID docker compose -p "$proj" build
  # one service of the two: a single bake target again
  printf 'print("hello, edited again %s sid_two")\n' "$TOKEN" > "$dir/backend/app/main.py"
  cap sid_two_backend_only "$dir" SID docker compose -p "$proj" build backend
  # the internal (non-bake) builder that COMPOSE_BAKE=false still selects in 2.40
  printf 'print("worker edited %s")\n' "$TOKEN" > "$dir/worker/worker.py"
  cap sid_two_nobake_code_edit "$dir" SID env COMPOSE_BAKE=false docker compose -p "$proj" build

  # buildx bake reading the compose file itself, with a metadata file (fresh project: cold)
  proj="dybake3sid${TOKEN}" dir="$WORK/sid_bake"
  make_two "$dir" "$proj"
  cap sid_bake_cold "$dir" SID docker buildx bake -f docker-compose.yml --metadata-file meta.json
  cp "$dir/meta.json" "$OUT/sid_bake_cold.metadata.json"
  rm -f "$dir/meta.json"
  cap sid_bake_cached "$dir" SID docker buildx bake -f docker-compose.yml --progress rawjson --metadata-file meta.json
  cp "$dir/meta.json" "$OUT/sid_bake_cached.metadata.json"

  # build history: every record of this run, then one record in full (a ref from the metadata file)
  cap_noenv sid_history_ls "$WORK" SID docker buildx history ls --filter "startedAt>$START" --format json
  local ref
  ref=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backend"]["buildx.build.ref"].rsplit("/",1)[-1])' "$OUT/sid_bake_cold.metadata.json")
  cap_noenv sid_bake_cold.history_inspect_backend "$WORK" SID docker buildx history inspect "$ref" --format json
}

capture_classic() {
  cap_noenv classic_versions "$WORK" CLASSIC sh -c 'docker version --format "client {{.Client.Version}} server {{.Server.Version}} api {{.Server.APIVersion}}"; docker buildx version; docker compose version; docker info --format "driver {{.Driver}} {{json .DriverStatus}}"'
  capture_one classic_one CLASSIC
}

# a re-capture replaces the files of the engines it captures
case "$WHICH" in all|sid) rm -f "$OUT"/sid_* ;; esac
case "$WHICH" in all|classic) rm -f "$OUT"/classic_* ;; esac
case "$WHICH" in
  all) capture_sid; capture_classic ;;
  sid) capture_sid ;;
  classic) capture_classic ;;
  *) echo "usage: $0 [all|sid|classic]" >&2; exit 2 ;;
esac
