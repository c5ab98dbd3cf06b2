#!/usr/bin/env bash
# The hostile-client suite (docs/RELIABILITY.md): nine attacks, each against
# a fresh docclass-server with a well-behaved client beside it. See
# bench/hostile.py. Exits non-zero when a target is missed.
#
#   bash bench/hostile.sh [--cases a,b] [BIN_DIR]
#
# Environment: DOCCLASS_VENV (default /tmp/docclass-venv), a venv with grpcio
# (scripts/real_clients/run.sh creates it); the attacker's raw HTTP/2 needs
# the `h2` package, installed into it when missing. HOSTILE_BASE_SECS (8),
# HOSTILE_ATTACK_SECS (15), HOSTILE_RATE (200) and HOSTILE_SERVER (a server
# binary to test instead of BIN_DIR's, for A/B runs).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${DOCCLASS_VENV:-/tmp/docclass-venv}
cases=()
if [ "${1:-}" = --cases ]; then
  cases=(--cases "$2")
  shift 2
fi
source bench/lib.sh
bin=$(release_bins "${1:-}")
"$venv/bin/python" -c 'import h2' 2>/dev/null || "$venv/bin/pip" install --quiet 'h2>=4,<5'
exec "$venv/bin/python" bench/hostile.py "$bin" "${cases[@]}" --write docs/RELIABILITY.md
