#!/usr/bin/env bash
# Health-check latency while 8 clients send heavy text (the DoS issue's
# "heavy text starves health checks" case; docs/RELIABILITY.md).
#
#   bash bench/heavy_text_health.sh [TEXT_BYTES] [BIN_DIR]
#
# TEXT_BYTES (default 1048576) of U+FDFA, a character NFKC expands elevenfold,
# sent by `docclass-bench unary -c 8` for 25 s against a fresh docclass-server
# serving the default model, while 30 `docclass health` checks run 0.5 s
# apart. Prints the checks' p50, p90, max and how many took over 1 s
# (Kubernetes' default probe timeout), and the load's status counts.
# BIN_DIR: release binaries (default target/release; build them first with
# `cargo build --release --bins`).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bytes=${1:-1048576}
bin=${2:-${CARGO_TARGET_DIR:-target}/release}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$bytes" > "$work/input.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1]) // 3  # U+FDFA is 3 bytes in UTF-8
print(json.dumps({"id": "fdfa", "text": "\ufdfa" * n}))
PY
port=$(free_port)
addr=127.0.0.1:$port
"$bin/docclass-server" --model models/default.model --addr "$addr" 2> "$work/server.log" &
for _ in $(seq 100); do "$bin/docclass" health --addr "$addr" --timeout 2 >/dev/null 2>&1 && break; sleep 0.2; done
"$bin/docclass-bench" unary --addr "$addr" --input "$work/input.jsonl" -c 8 --connections 8 \
  --duration 25 --warmup 1 --timeout 60 --json > "$work/bench.json" 2> "$work/bench.err" &
load=$!
sleep 3
latencies=()
for _ in $(seq 30); do
  t0=$(date +%s%N)
  "$bin/docclass" health --addr "$addr" --timeout 10 >/dev/null 2>&1 || echo "a health check failed"
  t1=$(date +%s%N)
  latencies+=($(( (t1 - t0) / 1000000 )))
  sleep 0.5
done
wait "$load" || true
printf '%s\n' "${latencies[@]}" | sort -n | awk -v b="$bytes" '{a[NR]=$1} END {
  over = 0; for (i = 1; i <= NR; i++) if (a[i] > 1000) over++;
  printf "text %d bytes of U+FDFA, 8 clients: %d health checks, p50 %d ms, p90 %d ms, max %d ms, over 1 s: %d\n",
    b, NR, a[int(NR * 0.5)], a[int(NR * 0.9)], a[NR], over }'
python3 - "$work/bench.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
print("load:", {k: v for k, v in r.items() if k in ("rpcs", "status_counts", "errors", "ok", "rps")})
PY
