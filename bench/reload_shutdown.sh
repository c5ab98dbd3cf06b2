#!/usr/bin/env bash
# Reload and shutdown figures (issue 21): a 1 GiB non-model file refused,
# four cancelled reloads of a 1 GiB file, a FIFO, SIGTERM in four states,
# --watch after an admin reload. See bench/reload_shutdown.py; its table
# goes in docs/RELIABILITY.md. Exits non-zero when a target is missed.
#
#   bash bench/reload_shutdown.sh [BIN_DIR]
#
# BIN_DIR: release binaries (default: built here, into CARGO_TARGET_DIR or
# target). They are copied to a temporary directory first, so a build
# meanwhile cannot swap them mid-run. Needs grpcurl from DOCCLASS_VENV
# (default /tmp/docclass-venv; scripts/real_clients/run.sh creates it).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DOCCLASS_VENV:-/tmp/docclass-venv}"
source bench/lib.sh
src=$(release_bins "${1:-}")
GRPCURL=$(find_grpcurl "$VENV")
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cp "$src/docclass-server" "$src/docclass" "$bin/"
python3 bench/reload_shutdown.py "$bin" "$GRPCURL"
