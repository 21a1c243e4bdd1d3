#!/usr/bin/env bash
# Start a real 2-node Ray cluster on this machine: a head node and one worker node, both
# on 127.0.0.1, each a `ray start` with its own temp dir and its own (free, non-overlapping)
# ports, so it never collides with another Ray instance on the machine.
#
# Usage:   infra/local/ray-cluster-start.sh [STATE_DIR]       (default /tmp/tsalign-ray)
# Then:    source STATE_DIR/cluster.env   # RAY_ADDRESS (GCS) and RAY_JOBS_ADDRESS (dashboard)
#          tsalign submit configs/tiny.yaml --address "$RAY_JOBS_ADDRESS"
# Stop:    infra/local/ray-cluster-stop.sh [STATE_DIR]
#
# CPUs per node: TSALIGN_RAY_HEAD_CPUS / TSALIGN_RAY_WORKER_CPUS (default 1 each, so a
# 2-worker training run must place one worker on each node).
set -euo pipefail

STATE_DIR="${1:-${TSALIGN_RAY_DIR:-/tmp/tsalign-ray}}"
HEAD_CPUS="${TSALIGN_RAY_HEAD_CPUS:-1}"
WORKER_CPUS="${TSALIGN_RAY_WORKER_CPUS:-1}"
PYTHON="${PYTHON:-python}"  # the nodes run this interpreter, so jobs import what it has installed

if [[ -f "$STATE_DIR/cluster.env" ]]; then
    echo "error: $STATE_DIR/cluster.env exists: a cluster may be running;" \
        "stop it with infra/local/ray-cluster-stop.sh $STATE_DIR" >&2
    exit 1
fi
mkdir -p "$STATE_DIR"
# Ray's unix socket paths must stay short (< 108 bytes): keep temp dirs near the root.
TMP_ROOT="$(mktemp -d /tmp/tsr-XXXXXX)"

# 13 distinct free ports, then two disjoint 64-port ranges for the worker processes.
read -r GCS DASH CLIENT H_NM H_OM H_RE H_ME H_DL H_DG W_NM W_OM W_RE W_ME W_DL W_DG \
    H_WMIN H_WMAX W_WMIN W_WMAX < <("$PYTHON" - <<'PY'
import random, socket

held = []
def grab(port=0):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    held.append(s)
    return s.getsockname()[1]

singles = [grab() for _ in range(15)]
def free_range(n=64):
    while True:
        base = random.randrange(20000, 30000 - n)
        try:
            for p in range(base, base + n):
                grab(p)
            return base, base + n - 1
        except OSError:
            continue
ranges = free_range() + free_range()
print(*singles, *ranges)
PY
)

export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"  # loopback only; see README for real clusters
export RAY_USAGE_STATS_ENABLED=0

setsid "$PYTHON" -m ray.scripts.scripts start --head --node-ip-address=127.0.0.1 --port="$GCS" --num-cpus="$HEAD_CPUS" \
    --temp-dir="$TMP_ROOT/head" --include-dashboard=true --dashboard-host=127.0.0.1 \
    --dashboard-port="$DASH" --ray-client-server-port="$CLIENT" \
    --node-manager-port="$H_NM" --object-manager-port="$H_OM" --runtime-env-agent-port="$H_RE" \
    --metrics-export-port="$H_ME" --dashboard-agent-listen-port="$H_DL" \
    --dashboard-agent-grpc-port="$H_DG" --min-worker-port="$H_WMIN" --max-worker-port="$H_WMAX" \
    --disable-usage-stats >"$STATE_DIR/head.log" 2>&1 &
HEAD_PGID=$!
wait "$HEAD_PGID" || { echo "error: head node failed to start; see $STATE_DIR/head.log" >&2; exit 1; }

setsid "$PYTHON" -m ray.scripts.scripts start --address="127.0.0.1:$GCS" --node-ip-address=127.0.0.1 --num-cpus="$WORKER_CPUS" \
    --temp-dir="$TMP_ROOT/worker" \
    --node-manager-port="$W_NM" --object-manager-port="$W_OM" --runtime-env-agent-port="$W_RE" \
    --metrics-export-port="$W_ME" --dashboard-agent-listen-port="$W_DL" \
    --dashboard-agent-grpc-port="$W_DG" --min-worker-port="$W_WMIN" --max-worker-port="$W_WMAX" \
    --disable-usage-stats >"$STATE_DIR/worker.log" 2>&1 &
WORKER_PGID=$!
# Record the head before waiting: a failed worker start must still be stoppable.
cat >"$STATE_DIR/cluster.env" <<ENV
RAY_ADDRESS=127.0.0.1:$GCS
RAY_JOBS_ADDRESS=http://127.0.0.1:$DASH
TSALIGN_RAY_PGIDS="$HEAD_PGID $WORKER_PGID"
TSALIGN_RAY_TMP=$TMP_ROOT
ENV
wait "$WORKER_PGID" || {
    echo "error: worker node failed to start; see $STATE_DIR/worker.log" >&2
    "$(dirname "$0")/ray-cluster-stop.sh" "$STATE_DIR"
    exit 1
}

# Both raylets registered?
for _ in $(seq 1 60); do
    alive=$(RAY_ADDRESS="127.0.0.1:$GCS" "$PYTHON" -c \
        "import ray; ray.init(logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))" \
        2>/dev/null | tail -n1 || true)
    [[ "$alive" == "2" ]] && break
    sleep 1
done
if [[ "$alive" != "2" ]]; then
    echo "error: expected 2 live nodes, found '${alive:-none}'" >&2
    "$(dirname "$0")/ray-cluster-stop.sh" "$STATE_DIR"
    exit 1
fi
echo "2-node Ray cluster up: RAY_ADDRESS=127.0.0.1:$GCS, jobs/dashboard http://127.0.0.1:$DASH"
echo "state: $STATE_DIR/cluster.env"
