#!/usr/bin/env bash
# Public-data accuracy and speed benchmark: docclass against scikit-learn
# Naive Bayes baselines and fastText, on the same splits, in one run.
# Writes docs/BENCHMARKS.md (a --quick run only prints its report, unless --out FILE).
#
# Usage: bash bench/accuracy.sh [--quick] [other bench/accuracy.py options]
#   DOCCLASS_BENCH_VENV  Python venv for the baselines (default
#                        /tmp/docclass-bench-venv; created and filled from
#                        bench/requirements.txt when needed)
#   DOCCLASS_DATASETS    dataset folder (default ../shared/datasets)
#   CARGO_TARGET_DIR     honoured by the build
# Every option: bash bench/accuracy.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DOCCLASS_BENCH_VENV:-/tmp/docclass-bench-venv}"
REQS=bench/requirements.txt
STAMP="$VENV/.docclass-bench-requirements"

if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  echo "== bench: creating Python venv $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQS" "$STAMP" 2>/dev/null; then
  echo "== bench: installing pinned baselines from $REQS" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$STAMP"
fi

echo "== bench: building docclass release binaries" >&2
cargo build --release --bins --quiet
DOCCLASS_BIN_DIR="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)"
export DOCCLASS_BIN_DIR

exec "$VENV/bin/python" bench/accuracy.py "$@"
