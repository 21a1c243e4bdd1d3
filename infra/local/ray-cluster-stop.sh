#!/usr/bin/env bash
# Stop the 2-node Ray cluster started by ray-cluster-start.sh — only that one.
#
# Usage: infra/local/ray-cluster-stop.sh [STATE_DIR]   (default /tmp/tsalign-ray)
#
# `ray stop` would end every Ray process of this user on the machine, other clusters
# included; this script ends only the process groups the start script recorded, plus
# the worker processes their raylets spawned (those run in their own process groups).
set -uo pipefail

STATE_DIR="${1:-${TSALIGN_RAY_DIR:-/tmp/tsalign-ray}}"
ENV_FILE="$STATE_DIR/cluster.env"
if [[ ! -f "$ENV_FILE" ]]; then
    echo "no cluster recorded in $ENV_FILE; nothing to stop"
    exit 0
fi
# shellcheck disable=SC1090
source "$ENV_FILE"

members() {  # every pid of the recorded groups and their direct children
    local g p
    for g in $TSALIGN_RAY_PGIDS; do
        for p in $(ps -o pid= -g "$g" 2>/dev/null); do
            echo "$p"
            ps -o pid= --ppid "$p" 2>/dev/null
        done
    done | sort -u
}

pids=$(members)
[[ -n "$pids" ]] && kill -TERM $pids 2>/dev/null
for _ in $(seq 1 20); do
    left=$(for p in $pids; do kill -0 "$p" 2>/dev/null && echo "$p"; done)
    [[ -z "$left" ]] && break
    sleep 0.5
done
left=$(for p in $pids $(members); do kill -0 "$p" 2>/dev/null && echo "$p"; done | sort -u)
[[ -n "$left" ]] && kill -KILL $left 2>/dev/null

rm -f "$ENV_FILE"
[[ -n "${TSALIGN_RAY_TMP:-}" && "$TSALIGN_RAY_TMP" == /tmp/tsr-* ]] && rm -rf "$TSALIGN_RAY_TMP"
echo "stopped the Ray cluster recorded in $STATE_DIR"
