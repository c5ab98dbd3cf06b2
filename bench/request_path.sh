#!/usr/bin/env bash
# Where a unary Classify RPC's server time goes (docs/PERFORMANCE.md, "Where
# a unary RPC's time goes"): profiles docclass-server, pinned to CPU 0, with
# `perf record --call-graph dwarf` while docclass-bench, pinned to CPU 1,
# loads it with the no-op RPC and then with unary Classify at concurrency 8,
# and splits each RPC's server CPU time into stages (bench/request_path.py).
#
#   bash bench/request_path.sh [BIN_DIR]
#
# Environment: DOCCLASS_DATASETS (default ../shared/datasets: BBC News cut to
# 1 KB, else training-data/), PATH_SECS (profiled seconds, default 4).
# Needs perf (linux-perf) with perf_event_paranoid ≤ 2, taskset and 2 CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
command -v perf >/dev/null || { echo "FAIL: perf is needed (Debian: linux-perf)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "FAIL: taskset (util-linux) is needed" >&2; exit 1; }
bin=$(release_bins "${1:-}")
datasets="${DOCCLASS_DATASETS:-../shared/datasets}"
secs="${PATH_SECS:-4}"
work=$(mktemp -d "${TMPDIR:-/tmp}/docclass-request-path.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

load=$(cut -d' ' -f1 /proc/loadavg)
docs_source=$(bench_documents "$datasets" "$work/docs.jsonl" taskset -c 1 "$bin/docclass-bench")
port=$(free_port)
metrics_port=$(free_port)
taskset -c 0 "$bin/docclass-server" --addr "127.0.0.1:$port" --enable-noop-rpc \
  --metrics-addr "127.0.0.1:$metrics_port" --max-concurrent-requests 300 2>"$work/server.log" &
server_pid=$!
taskset -c 1 "$bin/docclass-bench" unary --addr "127.0.0.1:$port" --wait-ready 30 --requests 1 \
  --warmup 0 --input "$work/docs.jsonl" --json >/dev/null

# cpu_ticks: the server's user + system clock ticks so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
# rpcs_answered: RPCs the server has answered so far, from its metrics.
rpcs_answered() {
  python3 - "http://127.0.0.1:$metrics_port/metrics" <<'PYEOF'
import re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
print(sum(float(m.group(1)) for m in re.finditer(r'^docclass_rpc_requests_total\{[^}]*\} (\S+)$', text, re.M)))
PYEOF
}
for mode in noop unary; do
  echo "== request path: $mode, concurrency 8, $secs s profiled" >&2
  taskset -c 1 "$bin/docclass-bench" "$mode" --addr "127.0.0.1:$port" --input "$work/docs.jsonl" \
    --concurrency 8 --duration $((secs + 8)) --warmup 1 --json >"$work/$mode.json" &
  bench_pid=$!
  sleep 2
  # The window is perf's whole run, start-up and data writing included (the
  # server is profiled throughout): its CPU time and wall time both.
  start=$(date +%s.%N)
  rpcs_before=$(rpcs_answered)
  before=$(cpu_ticks)
  perf record -F 1999 --call-graph dwarf,32768 -p "$server_pid" -o "$work/$mode.data" \
    -- sleep "$secs" >/dev/null 2>&1
  after=$(cpu_ticks)
  rpcs_after=$(rpcs_answered)
  end=$(date +%s.%N)
  wait "$bench_pid"
  python3 -c 'import json, os, sys; t = os.sysconf("SC_CLK_TCK"); print(json.dumps({"secs": float(sys.argv[2]) - float(sys.argv[1]), "cpu_secs": (int(sys.argv[4]) - int(sys.argv[3])) / t, "rpcs": float(sys.argv[6]) - float(sys.argv[5])}))' \
    "$start" "$end" "$before" "$after" "$rpcs_before" "$rpcs_after" >"$work/$mode.window.json"
  perf report -i "$work/$mode.data" --children --sort sym -q -g none >"$work/$mode.children.txt" 2>/dev/null
  perf report -i "$work/$mode.data" --no-children --sort comm -q -g none >"$work/$mode.comm.txt" 2>/dev/null
  rm -f "$work/$mode.data"
done
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "load=$load"
  echo "docs_source=$docs_source"
} >"$work/machine.txt"
python3 bench/request_path.py --work "$work" --out docs/PERFORMANCE.md
