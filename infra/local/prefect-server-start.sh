#!/usr/bin/env bash
# Start a Prefect server on 127.0.0.1 with its SQLite database under DIR; print its API URL.
# Usage: bash infra/local/prefect-server-start.sh DIR [PORT]     (PORT defaults to 4200)
# Then:  export PREFECT_API_URL=http://127.0.0.1:PORT/api; stop with prefect-server-stop.sh DIR
#
# Binds to loopback only. To reach it from other machines, do NOT change the host here:
# see README "Exposing the servers safely" (SSH tunnel, or a reverse proxy with TLS + auth).
set -euo pipefail
DIR="${1:?usage: prefect-server-start.sh DIR [PORT]}"
PORT="${2:-4200}"
HOST="${TSALIGN_PREFECT_HOST:-127.0.0.1}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
if [ -f "$DIR/server.pid" ] && kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
  echo "a Prefect server is already running from $DIR (pid $(cat "$DIR/server.pid"))" >&2
  exit 1
fi
export PREFECT_HOME="$DIR"
export PREFECT_API_DATABASE_CONNECTION_URL="sqlite+aiosqlite:///$DIR/prefect.db"
export PREFECT_SERVER_API_HOST="$HOST"
export PREFECT_SERVER_API_PORT="$PORT"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT=false
export PREFECT_UI_API_URL="http://$HOST:$PORT/api"
unset PREFECT_API_URL  # the server itself must not talk to another server
# setsid: the server and its children form one process group, so stop kills them all.
setsid prefect server start --host "$HOST" --port "$PORT" >"$DIR/server.log" 2>&1 </dev/null &
echo $! >"$DIR/server.pid"
URL="http://$HOST:$PORT/api"
for _ in $(seq 1 "${TSALIGN_PREFECT_START_TIMEOUT_S:-120}"); do
  if ! kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
    echo "the Prefect server exited during start; log: $DIR/server.log" >&2
    tail -n 20 "$DIR/server.log" >&2
    rm -f "$DIR/server.pid"
    exit 1
  fi
  if curl -fsS "$URL/health" >/dev/null 2>&1; then
    echo "$URL"
    exit 0
  fi
  sleep 1
done
echo "the Prefect server did not answer on $URL; log: $DIR/server.log" >&2
bash "$(dirname "$0")/prefect-server-stop.sh" "$DIR" >&2 || true
exit 1
