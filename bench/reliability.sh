#!/usr/bin/env bash
# Issue 5's load proofs (reload under load, overload), on loopback with the
# project's own load generator; writes docs/RELIABILITY.md. See
# bench/reliability.py for what is checked. Exits non-zero when a check fails.
#
# Environment: DOCCLASS_VENV (default /tmp/docclass-venv), the venv of
# scripts/real_clients/run.sh, for its grpcurl binary; RELOAD_SECS (65),
# OVERLOAD_SECS (60).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DOCCLASS_VENV:-/tmp/docclass-venv}"
source bench/lib.sh
BIN=$(release_bins)
GRPCURL=$(find_grpcurl "$VENV")
exec python3 bench/reliability.py "$BIN" "$GRPCURL"
