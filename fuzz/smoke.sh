#!/usr/bin/env bash
# CI smoke test for the fuzz targets: builds them with cargo-fuzz, replays
# each target's regression corpus (fuzz/regressions/<target>, what longer
# runs found) and seeds (fuzz/seeds/<target>), then fuzzes it for a few
# seconds from them, with libFuzzer's memory and time limits, so a crash, an
# out-of-memory or a hang fails the build. Stable Rust is enough:
# `--sanitizer none` needs no nightly.
#
# When cargo-fuzz is missing and cannot be installed, or there is no C++
# compiler to build libFuzzer, the smoke test cannot run: with
# FUZZ_SMOKE_REQUIRED=1 (CI) that fails ("fuzz smoke FAILED: <reason>",
# exit 1); otherwise it prints "fuzz smoke SKIPPED: <reason>" and exits 0.
# A build failure or a finding exits non-zero.
#
# Environment:
#   FUZZ_SMOKE_REQUIRED 1 to fail when the smoke test cannot run (default 0)
#   FUZZ_SMOKE_SECONDS  seconds of fuzzing per target, after the replay
#                       (default 10)
#   FUZZ_SMOKE_INSTALL  0 to never run `cargo install cargo-fuzz` (default 1)
#   FUZZ_SMOKE_DEV      1 to build the targets with the dev profile (`--dev`):
#                       slower fuzzing, but a cold build costs minutes less,
#                       which is what CI wants for a smoke run (default 0)
#   CARGO_TARGET_DIR    when set, the fuzz build goes to "$CARGO_TARGET_DIR-fuzz",
#                       so it never shares (and rebuilds) the main build's
#                       directory; otherwise fuzz/target
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SMOKE_SECONDS:-10}"
profile=()
[ "${FUZZ_SMOKE_DEV:-0}" = 1 ] && profile=(--dev)
skip() {
  if [ "${FUZZ_SMOKE_REQUIRED:-0}" = 1 ]; then
    echo "fuzz smoke FAILED: $* (FUZZ_SMOKE_REQUIRED=1)"
    exit 1
  fi
  echo "fuzz smoke SKIPPED: $*"
  exit 0
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  [ "${FUZZ_SMOKE_INSTALL:-1}" = 1 ] || skip "cargo-fuzz is not installed (FUZZ_SMOKE_INSTALL=0)"
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || skip "cargo-fuzz is not installed and 'cargo install cargo-fuzz' failed"
fi
command -v c++ >/dev/null 2>&1 || command -v clang++ >/dev/null 2>&1 ||
  skip "no C++ compiler (c++ or clang++) to build libFuzzer"

if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR%/}-fuzz"
fi

echo "== fuzz smoke: $(cargo fuzz --version), ${seconds} s per target"
cargo fuzz build "${profile[@]}" --sanitizer none

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for target in $(cargo fuzz list); do
  echo "== fuzz smoke: $target"
  mkdir -p "$corpus/$target"
  # New inputs go to the scratch corpus; fuzz/regressions and fuzz/seeds stay
  # as committed. libFuzzer first runs every input of every directory (its
  # INITED line; -max_total_time does not cut this short), then fuzzes.
  inputs=("fuzz/seeds/$target")
  [ -d "fuzz/regressions/$target" ] && inputs=("fuzz/regressions/$target" "${inputs[@]}")
  log="$corpus/$target.log"
  status=0
  cargo fuzz run "${profile[@]}" --sanitizer none "$target" "$corpus/$target" "${inputs[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz smoke: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/"
    exit "$status"
  fi
  replayed=$(find "${inputs[@]}" -type f | wc -l)
  echo "replayed $replayed committed inputs (${inputs[*]})"
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
done
echo "== fuzz smoke ok"
