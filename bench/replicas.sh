#!/usr/bin/env bash
# Issue 20's proof that three docclass-server replicas behave as one service
# to a standard gRPC client (round_robin, health checking, retry policy from
# the service config): the spread of RPCs, a replica restart under load, and
# a rolling model update under load. See bench/replicas.py for the checks.
# Rewrites the part of docs/DEPLOYMENT.md between its replicas markers and
# exits non-zero when a target is missed. Takes about 2 minutes.
#
# Environment: DOCCLASS_VENV (default /tmp/docclass-venv), a venv with the
# packages of scripts/real_clients/requirements.txt (created when missing);
# REPLICAS_THREADS (8), SPREAD_SECS (20), RESTART_SECS (30), ROLL_PAUSE_SECS (4);
# DOCCLASS_BIN_DIR: run the docclass-server and docclass-train found there
# instead of building them.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DOCCLASS_VENV:-/tmp/docclass-venv}"
REQS=scripts/real_clients/requirements.txt
if ! "$VENV/bin/python" -c 'import grpc, grpc_health, grpc_tools' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
fi
if [ -n "${DOCCLASS_BIN_DIR:-}" ]; then
  BIN="$DOCCLASS_BIN_DIR"
else
  nice -n 10 cargo build --release --locked --quiet --bin docclass-server --bin docclass-train
  BIN="${CARGO_TARGET_DIR:-target}/release"
fi
OUT="$(mktemp "${TMPDIR:-/tmp}/docclass-replicas.XXXXXX.md")"
trap 'rm -f "$OUT"' EXIT
status=0
"$VENV/bin/python" bench/replicas.py "$BIN" "$OUT" || status=$?
if [ -s "$OUT" ]; then
  python3 - docs/DEPLOYMENT.md "$OUT" <<'PY'
import sys
doc_path, figures_path = sys.argv[1], sys.argv[2]
begin, end = "<!-- replicas:begin -->", "<!-- replicas:end -->"
doc = open(doc_path).read()
head, rest = doc.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc_path, "w").write(head + begin + "\n" + open(figures_path).read() + end + tail)
print(f"figures written to {doc_path}")
PY
fi
exit "$status"
