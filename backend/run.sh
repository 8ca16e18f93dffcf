#!/bin/sh
# Container entry point: create/upgrade the schema, then replace this shell with uvicorn so
# that uvicorn is PID 1 and receives SIGTERM directly (a fast `docker compose down`).
set -eu

python -m app.migrate

exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --timeout-graceful-shutdown 5 "$@"
