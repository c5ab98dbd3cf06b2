#!/usr/bin/env bash
# Serving-performance benchmark of docclass (GitHub issues 7 and 19):
# reproduces the targets table of docs/PERFORMANCE.md in one run and rewrites
# that file, keeping the blocks of bench/cores.sh and bench/request_path.sh.
#
#   - docclass-server --enable-noop-rpc pinned to CPU 0, docclass-bench
#     pinned to CPU 1: no-op vs unary Classify RPC/s at concurrency 8 and 32,
#     unary p99 at half the best unary RPC/s (open loop), batch (32 documents)
#     and stream documents/s, server RSS after the load, start-up to SERVING;
#   - a Python grpcio + scikit-learn service (bench/py_service.py) on CPU 0,
#     loaded by the same generator;
#   - in-process on one core: docclass analysis alone vs classification
#     (docclass-bench in-process) vs scikit-learn CountVectorizer +
#     MultinomialNB bulk predict and fastText predict (bench/perf_baselines.py),
#     on the same documents: BBC News cut to 1 KB when
#     ../shared/datasets/bbc_news/bbc_news.jsonl exists, else training-data/;
#   - load time of the default model and of a 2^20-feature hashed model
#     trained here.
#
# Usage: bash bench/perf.sh [--out FILE]      (default docs/PERFORMANCE.md)
#   PERF_SECS            measured seconds per load run (default 10)
#   PERF_REPEATS         runs per load figure, the median is quoted (default 3)
#   DOCCLASS_BENCH_VENV  Python venv (default /tmp/docclass-bench-venv;
#                        created and filled from bench/perf-requirements.txt)
#   DOCCLASS_DATASETS    dataset folder (default ../shared/datasets)
#   CARGO_TARGET_DIR     honoured by the build
# Needs taskset (util-linux) and two CPUs. Every process it starts is stopped
# on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

OUT=docs/PERFORMANCE.md
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then OUT=$2; fi
SECS="${PERF_SECS:-10}"
REPEATS="${PERF_REPEATS:-3}"
WARMUP=2
VENV="${DOCCLASS_BENCH_VENV:-/tmp/docclass-bench-venv}"
REQS=bench/perf-requirements.txt
STAMP="$VENV/.docclass-perf-requirements"
DATASETS="${DOCCLASS_DATASETS:-../shared/datasets}"

die() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "== perf: $*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/docclass-perf.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "$status" -ne 0 ]; then
    for f in "$WORK"/*.log; do
      [ -s "$f" ] && { echo "--- $f (last 20 lines) ---" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v taskset >/dev/null || die "taskset (util-linux) is needed to pin server and generator"
[ "$(nproc)" -ge 2 ] || die "two CPUs are needed (server on CPU 0, generator on CPU 1)"

# --- Python venv -------------------------------------------------------------
if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  log "creating Python venv $VENV"
  python3 -m venv "$VENV"
fi
if ! cat bench/requirements.txt scripts/real_clients/requirements.txt "$REQS" | cmp -s - "$STAMP" 2>/dev/null; then
  log "installing pinned packages from $REQS"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
  cat bench/requirements.txt scripts/real_clients/requirements.txt "$REQS" >"$STAMP"
fi
PY="$VENV/bin/python"

# --- build -----------------------------------------------------------------
log "building release binaries"
cargo build --release --locked --bins --quiet
BIN="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)"
BENCH=("taskset" "-c" "1" "$BIN/docclass-bench")

# start_server NAME CMD...: starts CMD pinned to CPU 0, sets SERVER_PID.
start_server() {
  local name=$1
  shift
  taskset -c 0 "$@" 2>"$WORK/$name.log" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# json FILE EXPR: a value from a JSON file (EXPR over d).
json() {
  "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# --- documents -------------------------------------------------------------
DOCS="$WORK/docs.jsonl"
DOCS_SOURCE=$(bench_documents "$DATASETS" "$DOCS" "${BENCH[@]}")
log "documents: $DOCS_SOURCE ($(wc -l <"$DOCS") documents)"

# --- start-up to SERVING -------------------------------------------------------
log "start-up to SERVING ($REPEATS starts)"
# The generator starts first and polls health every 2 ms, counting from its own
# start; the server starts right after it: an upper bound of the server's
# start-up (exec, listen, load models/default.model) to SERVING.
head -n 1 "$DOCS" >"$WORK/one.jsonl"
for i in $(seq "$REPEATS"); do
  port=$(free_port)
  "${BENCH[@]}" unary --addr "127.0.0.1:$port" --wait-ready 30 --requests 1 --warmup 0 \
    --input "$WORK/one.jsonl" --json >"$WORK/startup-$i.json" &
  bench_pid=$!
  start_server "startup-$i" "$BIN/docclass-server" --addr "127.0.0.1:$port" --enable-noop-rpc
  wait "$bench_pid" || die "docclass-bench --wait-ready failed for start $i"
  stop_server
done

# --- docclass-server under load ---------------------------------------------
PORT=$(free_port)
ADDR="127.0.0.1:$PORT"
# --max-concurrent-requests above the open loop's 256 in flight: the default
# limit (64) sheds with RESOURCE_EXHAUSTED whenever a stall of this shared
# machine queues more than 64, and a shed RPC has no latency to count.
start_server server "$BIN/docclass-server" --addr "$ADDR" --enable-noop-rpc --max-concurrent-requests 300
"${BENCH[@]}" unary --addr "$ADDR" --wait-ready 30 --requests 1 --warmup 0 --input "$DOCS" --json >/dev/null
DOCCLASS_PID=$SERVER_PID
load() { # load NAME MODE ARGS...: one measured run, JSON into $WORK/NAME.json
  local name=$1
  shift
  local rc=0
  # The machine's CPU time counters around the run (steal included: time
  # the hypervisor gave our virtual CPUs' turn to someone else).
  head -n 1 /proc/stat >"$WORK/$name.stat"
  "${BENCH[@]}" "$@" --addr "$ADDR" --input "$DOCS" --duration "$SECS" --warmup "$WARMUP" --json \
    >"$WORK/$name.json" || rc=$?
  head -n 1 /proc/stat >>"$WORK/$name.stat"
  # Exit 3: the run happened but some RPCs failed; the report counts them.
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || die "docclass-bench $* failed (exit $rc)"
  log "$name: $(json "$WORK/$name.json" '"%.0f RPC/s, %.0f docs/s, p99 %.3f ms" % (d["rpcs_per_sec"], d["documents_per_sec"], d["latency_ms"]["p99"])')"
}
for r in $(seq "$REPEATS"); do
  for c in 8 32; do
    load "noop-c$c-$r" noop --concurrency "$c"
    load "unary-c$c-$r" unary --concurrency "$c"
  done
  load "batch-$r" batch --batch-size 32 --concurrency 4
  load "stream-$r" stream --concurrency 4 --window 32
done
BEST_UNARY=$("$PY" - "$WORK" "$REPEATS" <<'PYEOF'
import json, statistics, sys
work, repeats = sys.argv[1], int(sys.argv[2])
print(max(statistics.median(json.load(open(f"{work}/unary-c{c}-{r}.json"))["rpcs_per_sec"]
                            for r in range(1, repeats + 1)) for c in (8, 32)))
PYEOF
)
HALF=$("$PY" -c "print(round($BEST_UNARY / 2))")
log "best unary median $BEST_UNARY RPC/s; open loop at $HALF/s"
for r in $(seq "$REPEATS"); do
  load "half-$r" unary --rate "$HALF" --concurrency 256
done
grep -E '^(VmRSS|VmHWM)' "/proc/$DOCCLASS_PID/status" >"$WORK/rss.txt"
stop_server

# --- the Python grpcio + scikit-learn service ---------------------------------
log "Python grpcio + scikit-learn service"
PORT=$(free_port)
ADDR="127.0.0.1:$PORT"
start_server py_service "$PY" bench/py_service.py --addr "$ADDR"
"${BENCH[@]}" unary --addr "$ADDR" --wait-ready 300 --requests 1 --warmup 0 --input "$DOCS" --json >/dev/null
for r in $(seq "$REPEATS"); do
  load "python-c8-$r" unary --concurrency 8
done
stop_server

# --- in-process, one core ----------------------------------------------------
log "in-process: docclass"
"${BENCH[@]}" in-process --model models/default.model --input "$DOCS" --runs 5 --json >"$WORK/in_process.json"
log "in-process: scikit-learn and fastText"
taskset -c 1 "$PY" bench/perf_baselines.py --docs "$DOCS" --runs 5 >"$WORK/baselines.json"

# --- model load ---------------------------------------------------------------
log "model load: default model, and a 2^20-feature hashed model"
"${BENCH[@]}" load-model models/default.model --runs 5 --json >"$WORK/load_default.json"
"$BIN/docclass-train" --input training-data/en/*.jsonl training-data/fr/*.jsonl \
  --topics training-data/topics.json --hash-bits 20 --no-validation \
  --output "$WORK/hashed-20.model" >"$WORK/train.log" 2>&1 || die "docclass-train failed"
"${BENCH[@]}" load-model "$WORK/hashed-20.model" --runs 5 --json >"$WORK/load_hashed.json"

# --- the report ----------------------------------------------------------------
log "writing $OUT"
{
  echo "cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
  echo "cpus=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "rustc=$(rustc --version)"
  echo "python=$("$PY" --version 2>&1)"
  echo "docs_source=$DOCS_SOURCE"
  echo "secs=$SECS"
  echo "warmup=$WARMUP"
  echo "repeats=$REPEATS"
  echo "half_rate=$HALF"
} >"$WORK/machine.txt"
"$PY" bench/perf_report.py --work "$WORK" --out "$OUT"
log "done: $OUT"
