#!/usr/bin/env bash
# Stop the Prefect server that prefect-server-start.sh started from DIR (its whole process group).
# Usage: bash infra/local/prefect-server-stop.sh DIR
set -uo pipefail
DIR="${1:?usage: prefect-server-stop.sh DIR}"
PIDFILE="$DIR/server.pid"
if [ ! -f "$PIDFILE" ]; then
  echo "no Prefect server pid file in $DIR (not started, or already stopped)" >&2
  exit 0
fi
PID="$(cat "$PIDFILE")"
# The server was started with setsid, so its pid is also its process-group id.
kill -TERM -- "-$PID" 2>/dev/null || kill -TERM "$PID" 2>/dev/null || true
for _ in $(seq 1 30); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.5
done
if kill -0 "$PID" 2>/dev/null; then
  kill -KILL -- "-$PID" 2>/dev/null || kill -KILL "$PID" 2>/dev/null || true
fi
rm -f "$PIDFILE"
echo "stopped the Prefect server (pid $PID)"
