#!/usr/bin/env bash
# All the cores (docs/PERFORMANCE.md, "All the cores"): in-process
# classification, docclass-train and docclass-predict on one thread against
# all of them, docclass-predict against scikit-learn bulk predict, and
# docclass-predict's peak RSS on a 1 GB input. See bench/cores.py.
#
#   bash bench/cores.sh [BIN_DIR]
#
# Environment: DOCCLASS_DATASETS (default ../shared/datasets: BBC News for
# the documents, 20 Newsgroups for training; training-data/ without them),
# DOCCLASS_BENCH_VENV (perf.sh's venv with scikit-learn; skipped if absent),
# CORES_REPEATS (default 7), CORES_BIG_MB (default 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bin=$(release_bins "${1:-}")
datasets="${DOCCLASS_DATASETS:-../shared/datasets}"
venv="${DOCCLASS_BENCH_VENV:-/tmp/docclass-bench-venv}"
work=$(mktemp -d "${TMPDIR:-/tmp}/docclass-cores-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

docs_source=$(bench_documents "$datasets" "$work/docs.jsonl" "$bin/docclass-bench")
if [ -s "$datasets/20newsgroups/20newsgroups_train.jsonl" ]; then
  train=("$datasets/20newsgroups/20newsgroups_train.jsonl")
  train_source="20 Newsgroups train split"
else
  train=(training-data/en/*.jsonl training-data/fr/*.jsonl)
  train_source="training-data/"
fi
sklearn=()
if "$venv/bin/python" -c 'import sklearn, fasttext' 2>/dev/null; then
  sklearn=(--sklearn-python "$venv/bin/python")
fi
python3 bench/cores.py "$bin" --docs "$work/docs.jsonl" --docs-source "$docs_source" \
  --train "${train[@]}" --train-source "$train_source" --repeats "${CORES_REPEATS:-7}" \
  --big-mb "${CORES_BIG_MB:-1024}" "${sklearn[@]}" --write docs/PERFORMANCE.md
