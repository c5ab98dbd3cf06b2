#!/usr/bin/env bash
# The 30-minute soak (docs/RELIABILITY.md): mixed load at about half of
# capacity, reloads every 30 s (every fifth of a bad file), a SIGHUP every
# 2 minutes. See bench/soak.py. Exits non-zero when a target is missed.
#
#   bash bench/soak.sh [MINUTES] [BIN_DIR]
#
# Environment: DOCCLASS_VENV (default /tmp/docclass-venv), a venv with grpcio
# (scripts/real_clients/run.sh creates it).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
source bench/lib.sh
bin=$(release_bins "${2:-}")
exec "${DOCCLASS_VENV:-/tmp/docclass-venv}/bin/python" bench/soak.py "$bin" --minutes "$minutes" --write docs/RELIABILITY.md
