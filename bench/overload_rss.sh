#!/usr/bin/env bash
# The server's RSS and thread count after each of ROUNDS rounds of 8 s of
# overload (`docclass-bench batch --rate 2000 -c 512 --connections 4`, about
# 3x what a 2-core machine serves): a high-water mark levels off, a leak or a
# growing thread pool does not (docs/RELIABILITY.md, "Memory under overload").
#
#   bash bench/overload_rss.sh [ROUNDS] [BIN_DIR] [SERVER_BINARY]
#
# SERVER_BINARY: another docclass-server to measure (default BIN_DIR's), for
# before/after comparisons with the same load generator.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
source bench/lib.sh
bin=$(release_bins "${2:-}")
server=${3:-$bin/docclass-server}
port=$(free_port)
addr=127.0.0.1:$port
"$server" --model models/default.model --addr "$addr" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$bin/docclass" health --addr "$addr" >/dev/null 2>&1 && break; sleep 0.2; done
rss() { awk '/^VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status"; }
echo "started: RSS $(rss), $(ls "/proc/$pid/task" | wc -l) threads"
for round in $(seq "$rounds"); do
  "$bin/docclass-bench" batch --addr "$addr" --rate 2000 -c 512 --connections 4 \
    --duration 8 --warmup 0 --json >/dev/null 2>&1 || true
  echo "after overload round $round: RSS $(rss), $(ls "/proc/$pid/task" | wc -l) threads"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
